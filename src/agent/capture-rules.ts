/**
 * The traffic capture rules for a VM's Envoy sidecar, in `iptables-restore` format, as
 * istio-iptables writes them (REDIRECT mode, IPv4). `meshbridge agent iptables` prints them; nothing
 * here runs iptables.
 *
 * Contract:
 * - inbound TCP (all ports, or the listed ones; never the excluded ones nor 15008) → 15006;
 * - outbound TCP (to the included ranges, `*` for all) → 15001, except loopback and the traffic of the
 *   proxy users and groups (the agent's and Envoy's), which is never captured (no loop);
 * - DNS: only queries to the resolv.conf nameservers (UDP and TCP 53) → the agent's DNS proxy on
 *   15053, the proxy users' own queries exempt, with the conntrack zones that keep UDP replies apart
 *   (istio#30309: capturing every port-53 packet loops through local resolvers).
 */
export interface CaptureOptions {
  /** User ids whose traffic is never captured (the agent's and Envoy's users). */
  readonly proxyUids: readonly string[];
  /** Group ids whose traffic is never captured. */
  readonly proxyGids: readonly string[];
  /** `*` for every inbound port, else the ports to capture; empty: no inbound capture. */
  readonly inboundPorts: '*' | readonly number[];
  /** Inbound ports left alone when `inboundPorts` is `*`. */
  readonly excludeInboundPorts: readonly number[];
  /** `*` for every outbound destination, else CIDRs; empty: no outbound capture. */
  readonly outboundIpRanges: '*' | readonly string[];
  /** IPv4 nameservers whose DNS traffic goes to the agent; empty: no DNS capture. */
  readonly dnsServers: readonly string[];
  readonly ports?: { readonly outbound: number; readonly inbound: number; readonly dns: number };
}

const TUNNEL_PORT = 15008;
const DEFAULT_PORTS = { outbound: 15001, inbound: 15006, dns: 15053 } as const;

export function captureRules(o: CaptureOptions): string {
  const ports = o.ports ?? DEFAULT_PORTS;
  const dns = o.dnsServers.length > 0;
  const owners = [...o.proxyUids.map((id) => ({ flag: '--uid-owner', id, multiport: dns })), ...o.proxyGids.map((id) => ({ flag: '--gid-owner', id, multiport: false }))];
  const nat = ['* nat', '-N ISTIO_INBOUND', '-N ISTIO_REDIRECT', '-N ISTIO_IN_REDIRECT', '-N ISTIO_OUTPUT'];
  if (dns) nat.push('-N ISTIO_OUTPUT_DNS');
  nat.push(
    `-A ISTIO_INBOUND -p tcp --dport ${TUNNEL_PORT} -j RETURN`,
    `-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports ${ports.outbound}`,
    `-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${ports.inbound}`,
  );
  if (o.inboundPorts === '*') {
    nat.push('-A PREROUTING -p tcp -j ISTIO_INBOUND');
    for (const p of o.excludeInboundPorts) nat.push(`-A ISTIO_INBOUND -p tcp --dport ${p} -j RETURN`);
    nat.push('-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT');
  } else if (o.inboundPorts.length > 0) {
    nat.push('-A PREROUTING -p tcp -j ISTIO_INBOUND');
    for (const p of o.inboundPorts) nat.push(`-A ISTIO_INBOUND -p tcp --dport ${p} -j ISTIO_IN_REDIRECT`);
  }
  nat.push('-A OUTPUT -j ISTIO_OUTPUT', '-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN');
  for (const { flag, id, multiport } of owners) {
    const notTunnel = multiport ? `-m multiport ! --dports 53,${TUNNEL_PORT}` : `! --dport ${TUNNEL_PORT}`;
    nat.push(
      `-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ${notTunnel} -m owner ${flag} ${id} -j ISTIO_IN_REDIRECT`,
      `-A ISTIO_OUTPUT -o lo${dns ? ' -p tcp ! --dport 53' : ''} -m owner ! ${flag} ${id} -j RETURN`,
      `-A ISTIO_OUTPUT -m owner ${flag} ${id} -j RETURN`,
    );
  }
  if (dns) {
    nat.push('-A ISTIO_OUTPUT -j ISTIO_OUTPUT_DNS');
    for (const s of o.dnsServers) nat.push(`-A ISTIO_OUTPUT_DNS -p tcp --dport 53 -d ${s}/32 -j REDIRECT --to-ports ${ports.dns}`);
    for (const { flag, id } of owners) nat.push(`-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner ${flag} ${id} -j RETURN`);
    for (const s of o.dnsServers) nat.push(`-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d ${s}/32 -j REDIRECT --to-port ${ports.dns}`);
  }
  nat.push('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN');
  if (o.outboundIpRanges === '*') nat.push('-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
  else for (const cidr of o.outboundIpRanges) nat.push(`-A ISTIO_OUTPUT -d ${cidr} -j ISTIO_REDIRECT`);
  nat.push('COMMIT');
  if (!dns) return `${nat.join('\n')}\n`;
  const raw = ['* raw', '-N ISTIO_OUTPUT_DNS', '-N ISTIO_INBOUND', '-A OUTPUT -j ISTIO_OUTPUT_DNS'];
  for (const { flag, id } of owners) raw.push(`-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner ${flag} ${id} -j CT --zone 1`, `-A ISTIO_OUTPUT_DNS -p udp --sport ${ports.dns} -m owner ${flag} ${id} -j CT --zone 2`);
  raw.push('-A PREROUTING -j ISTIO_INBOUND');
  for (const s of o.dnsServers) raw.push(`-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d ${s}/32 -j CT --zone 2`, `-A ISTIO_INBOUND -p udp --sport 53 -s ${s}/32 -j CT --zone 1`);
  raw.push('COMMIT');
  return `${[...nat, ...raw].join('\n')}\n`;
}

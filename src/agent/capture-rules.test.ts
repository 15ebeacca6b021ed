// The capture rules against istio-iptables' own golden outputs (tools/istio-iptables/pkg/capture/
// testdata, IPv4 part): the same options give the same rules, line for line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureRules } from './capture-rules.js';

// inbound-ports-wildcard.golden: InboundPortsInclude "*", proxy uid and gid 1337.
const ISTIO_INBOUND_WILDCARD = `* nat
-N ISTIO_INBOUND
-N ISTIO_REDIRECT
-N ISTIO_IN_REDIRECT
-N ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
COMMIT
`;

// dns-uid-gid.golden: RedirectDNS, DNS server 127.0.0.53, proxy uids 3,4 and gids 1,2, no inbound capture.
const ISTIO_DNS_UID_GID = `* nat
-N ISTIO_INBOUND
-N ISTIO_REDIRECT
-N ISTIO_IN_REDIRECT
-N ISTIO_OUTPUT
-N ISTIO_OUTPUT_DNS
-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp -m multiport ! --dports 53,15008 -m owner --uid-owner 3 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -p tcp ! --dport 53 -m owner ! --uid-owner 3 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 3 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp -m multiport ! --dports 53,15008 -m owner --uid-owner 4 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -p tcp ! --dport 53 -m owner ! --uid-owner 4 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 4 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -p tcp ! --dport 53 -m owner ! --gid-owner 1 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 2 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -p tcp ! --dport 53 -m owner ! --gid-owner 2 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 2 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_OUTPUT_DNS
-A ISTIO_OUTPUT_DNS -p tcp --dport 53 -d 127.0.0.53/32 -j REDIRECT --to-ports 15053
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --uid-owner 3 -j RETURN
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --uid-owner 4 -j RETURN
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --gid-owner 1 -j RETURN
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --gid-owner 2 -j RETURN
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d 127.0.0.53/32 -j REDIRECT --to-port 15053
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
COMMIT
* raw
-N ISTIO_OUTPUT_DNS
-N ISTIO_INBOUND
-A OUTPUT -j ISTIO_OUTPUT_DNS
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --uid-owner 3 -j CT --zone 1
-A ISTIO_OUTPUT_DNS -p udp --sport 15053 -m owner --uid-owner 3 -j CT --zone 2
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --uid-owner 4 -j CT --zone 1
-A ISTIO_OUTPUT_DNS -p udp --sport 15053 -m owner --uid-owner 4 -j CT --zone 2
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --gid-owner 1 -j CT --zone 1
-A ISTIO_OUTPUT_DNS -p udp --sport 15053 -m owner --gid-owner 1 -j CT --zone 2
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner --gid-owner 2 -j CT --zone 1
-A ISTIO_OUTPUT_DNS -p udp --sport 15053 -m owner --gid-owner 2 -j CT --zone 2
-A PREROUTING -j ISTIO_INBOUND
-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d 127.0.0.53/32 -j CT --zone 2
-A ISTIO_INBOUND -p udp --sport 53 -s 127.0.0.53/32 -j CT --zone 1
COMMIT
`;

test("capture rules: inbound on every port, as istio-iptables' inbound-ports-wildcard golden", () => {
  assert.equal(captureRules({ proxyUids: ['1337'], proxyGids: ['1337'], inboundPorts: '*', excludeInboundPorts: [], outboundIpRanges: [], dnsServers: [] }), ISTIO_INBOUND_WILDCARD);
});

test("capture rules: DNS only to the resolv.conf nameserver, proxy users exempt, as istio-iptables' dns-uid-gid golden", () => {
  assert.equal(captureRules({ proxyUids: ['3', '4'], proxyGids: ['1', '2'], inboundPorts: [], excludeInboundPorts: [], outboundIpRanges: [], dnsServers: ['127.0.0.53'] }), ISTIO_DNS_UID_GID);
});

test('capture rules for a VM: outbound to 15001 for all destinations, inbound to 15006 but the agent and Envoy ports, DNS to 15053', () => {
  const rules = captureRules({ proxyUids: ['998'], proxyGids: ['998'], inboundPorts: '*', excludeInboundPorts: [15020, 15021, 15090], outboundIpRanges: '*', dnsServers: ['10.0.0.2'] }).split('\n');
  for (const p of [15020, 15021, 15090]) assert.ok(rules.includes(`-A ISTIO_INBOUND -p tcp --dport ${p} -j RETURN`));
  assert.ok(rules.indexOf('-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN') < rules.indexOf('-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT'));
  assert.equal(rules.filter((r) => r === '-A ISTIO_OUTPUT -j ISTIO_REDIRECT').length, 1);
  assert.ok(rules.indexOf('COMMIT') < rules.indexOf('* raw'), 'the nat table is committed before the raw table starts');
  assert.ok(rules.includes('-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d 10.0.0.2/32 -j REDIRECT --to-port 15053'));
  assert.ok(!rules.some((r) => r.includes('--dport 53') && r.includes('REDIRECT') && !r.includes('-d 10.0.0.2/32')), 'only the nameserver is captured');
  // The proxy user's own traffic returns before anything redirects it.
  assert.ok(rules.indexOf('-A ISTIO_OUTPUT -m owner --uid-owner 998 -j RETURN') < rules.indexOf('-A ISTIO_OUTPUT -j ISTIO_REDIRECT'));
});

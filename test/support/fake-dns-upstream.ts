/**
 * A fake upstream DNS server on loopback (UDP and TCP on one port), standing for the VM's
 * resolv.conf nameserver in DNS proxy tests so that no question ever leaves the machine (Istio's
 * `makeUpstream`): listed names answer A records, `giant.` answers 64 A records, `giant-tc.` the
 * same truncated to 512 bytes with TC set, everything else NXDOMAIN. `silent` stops all answers.
 * Every message it receives is recorded raw.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import * as dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';
import { encodeWithin } from '../../src/agent/dns/dns-proxy.js';
import { frame, unframe } from '../../src/agent/dns/upstream-client.js';

export const GIANT_IPS = Array.from({ length: 64 }, (_, i) => `240.0.0.${i}`);

export interface FakeUpstream {
  readonly address: string;
  /** Every message received, as received. */
  readonly received: Buffer[];
  silent: boolean;
  close(): Promise<void>;
}

function answerTo(query: Packet, names: ReadonlyMap<string, string>): Buffer {
  const q = query.questions?.[0];
  const name = (q?.name ?? '').toLowerCase();
  const base: Packet = { id: query.id ?? 0, type: 'response', flags: (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED, questions: query.questions ?? [], answers: [] };
  if (name === 'giant' || name === 'giant-tc') {
    const answers = GIANT_IPS.map((data) => ({ type: 'A' as const, name: 'aaaaaaaaaaaa.aaaaaa', ttl: 30, class: 'IN' as const, data }));
    return name === 'giant' ? dnsPacket.encode({ ...base, answers }) : encodeWithin({ ...base, answers }, 512);
  }
  const ip = names.get(name);
  if (ip !== undefined && q?.type === 'A') return dnsPacket.encode({ ...base, answers: [{ type: 'A', name, ttl: 60, class: 'IN', data: ip }] });
  return dnsPacket.encode({ ...base, flags: (base.flags ?? 0) | 3 }); // NXDOMAIN
}

export async function startFakeUpstream(names: Readonly<Record<string, string>> = {}): Promise<FakeUpstream> {
  const table = new Map(Object.entries(names).map(([k, v]) => [k.replace(/\.$/, '').toLowerCase(), v]));
  const received: Buffer[] = [];
  const state = { silent: false };
  const tcp = createServer((socket: Socket) => {
    let pending: Buffer = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      const { messages, rest } = unframe(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const msg of messages) {
        received.push(Buffer.from(msg));
        if (!state.silent) socket.write(frame(answerTo(dnsPacket.decode(msg), table)));
      }
    });
  });
  tcp.listen({ host: '127.0.0.1', port: 0 });
  await once(tcp, 'listening');
  const address = tcp.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    received.push(Buffer.from(msg));
    if (!state.silent) udp.send(answerTo(dnsPacket.decode(msg), table), rinfo.port, rinfo.address);
  });
  udp.bind({ address: '127.0.0.1', port });
  await once(udp, 'listening');
  return {
    address: `127.0.0.1:${port}`,
    received,
    get silent() {
      return state.silent;
    },
    set silent(v: boolean) {
      state.silent = v;
    },
    close: async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

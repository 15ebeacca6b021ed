// The agent's DNS proxy as a VM's resolver would use it: `dig` (Debian dnsutils) over UDP and TCP
// against a running DnsProxy, with a fake upstream on loopback standing for resolv.conf's servers
// (test/support/fake-dns-upstream.ts). One test per answering rule of docs/dns.md (Istio's
// pkg/dns/client behaviour, next to where meshbridge does better).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { DnsProxy } from '../../src/agent/dns/dns-proxy.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { ISTIO_SETTINGS, ISTIO_TABLE } from '../support/dns-fixtures.js';
import { GIANT_IPS, startFakeUpstream, type FakeUpstream } from '../support/fake-dns-upstream.js';
import { dig } from '../support/dig.js';

const TRANSPORTS = [[], ['+tcp']] as const;
let upstream: FakeUpstream;
let proxy: DnsProxy;
let port: number;
const metrics = new Registry();

before(async () => {
  upstream = await startFakeUpstream({ 'www.bing.com': '1.1.1.1', 'unknown.test': '7.7.7.7' });
  let id = 0;
  proxy = new DnsProxy({ address: '127.0.0.1:0', upstreams: [upstream.address], lookup: ISTIO_SETTINGS, log: silentLogger, metrics, upstreamTimeoutMs: 300, nextId: () => ++id });
  proxy.updateTable(ISTIO_TABLE);
  ({ port } = await proxy.start());
});

after(async () => {
  await proxy.close();
  await upstream.close();
});

test('dig: a mesh name answers A from the table with aa set, TTL 30, NOERROR (UDP and TCP)', async () => {
  for (const t of TRANSPORTS) {
    const r = await dig(port, 'productpage.ns1.svc.cluster.local', 'A', ...t);
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.includes('aa') && r.flags.includes('qr') && r.flags.includes('rd'), r.flags.join(' '));
    assert.deepEqual(r.answers, [{ name: 'productpage.ns1.svc.cluster.local.', ttl: 30, type: 'A', data: '9.9.9.9' }]);
  }
});

test('dig: a v4-only mesh name asked for AAAA is NOERROR with no answer (NODATA), never NXDOMAIN', async () => {
  for (const t of TRANSPORTS) {
    const r = await dig(port, 'ipv4.test', 'AAAA', ...t);
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.includes('aa'));
    assert.deepEqual(r.answers, []);
  }
});

test("dig: Kubernetes short names resolve in the VM's namespace only; others go upstream", async () => {
  for (const t of TRANSPORTS) {
    assert.deepEqual((await dig(port, 'productpage', 'A', ...t)).answers, [{ name: 'productpage.', ttl: 30, type: 'A', data: '9.9.9.9' }]);
    assert.deepEqual((await dig(port, 'example.ns2.svc', 'A', ...t)).answers, [{ name: 'example.ns2.svc.', ttl: 30, type: 'A', data: '10.10.10.10' }]);
    const other = await dig(port, 'example', 'A', ...t);
    assert.equal(other.status, 'NXDOMAIN', 'from the upstream');
    assert.ok(!other.flags.includes('aa'));
  }
});

test('dig: the first search domain gets a CNAME to the mesh name plus its records', async () => {
  for (const t of TRANSPORTS) {
    const r = await dig(port, 'www.google.com.ns1.svc.cluster.local', 'A', ...t);
    assert.deepEqual(r.answers, [
      { name: 'www.google.com.ns1.svc.cluster.local.', ttl: 30, type: 'CNAME', data: 'www.google.com.' },
      { name: 'www.google.com.', ttl: 30, type: 'A', data: '1.1.1.1' },
    ]);
  }
});

test('dig: the most specific wildcard answers, owned by the question', async () => {
  for (const t of TRANSPORTS) {
    assert.deepEqual((await dig(port, 'a.b.wildcard', 'A', ...t)).answers, [{ name: 'a.b.wildcard.', ttl: 30, type: 'A', data: '11.11.11.11' }]);
    assert.deepEqual((await dig(port, 'foo.wildcard', 'A', ...t)).answers, [{ name: 'foo.wildcard.', ttl: 30, type: 'A', data: '10.10.10.10' }]);
  }
});

test('dig: other query types and unknown names are forwarded; the upstream reply comes back unchanged', async () => {
  for (const t of TRANSPORTS) {
    const before = upstream.received.length;
    const srv = await dig(port, '_http._tcp.productpage.ns1.svc.cluster.local', 'SRV', ...t);
    assert.equal(srv.status, 'NXDOMAIN');
    const known = await dig(port, 'unknown.test', 'A', ...t);
    assert.deepEqual(known.answers, [{ name: 'unknown.test.', ttl: 60, type: 'A', data: '7.7.7.7' }], 'upstream TTL kept');
    const forwarded = upstream.received.slice(before).map((m) => dnsPacket.decode(m).questions?.[0]?.name);
    assert.deepEqual(forwarded, ['_http._tcp.productpage.ns1.svc.cluster.local', 'unknown.test']);
  }
});

test('dig: a large answer is truncated with TC over plain UDP, complete over TCP and with EDNS 65535', async () => {
  const udp = await dig(port, 'giant', 'A', '+noedns', '+ignore');
  assert.ok(udp.flags.includes('tc'), udp.flags.join(' '));
  assert.ok(udp.answers.length < GIANT_IPS.length);
  const tcp = await dig(port, 'giant', 'A', '+tcp');
  assert.equal(tcp.answers.length, GIANT_IPS.length);
  const edns = await dig(port, 'giant', 'A', '+bufsize=65535');
  assert.equal(edns.answers.length, GIANT_IPS.length);
  assert.ok(!edns.flags.includes('tc'));
  const upstreamTruncated = await dig(port, 'giant-tc', 'A', '+bufsize=65535', '+ignore');
  assert.ok(upstreamTruncated.flags.includes('tc'), 'an upstream TC is passed through');
});

test('dig: every upstream silent → SERVFAIL after the timeout, counted', async () => {
  upstream.silent = true;
  try {
    for (const t of TRANSPORTS) assert.equal((await dig(port, 'nobody.answers.test', 'A', ...t)).status, 'SERVFAIL');
  } finally {
    upstream.silent = false;
  }
  const failures = await metrics.getSingleMetricAsString('dns_upstream_failures_total');
  assert.match(failures, /dns_upstream_failures_total 2/);
  assert.match(await metrics.getSingleMetricAsString('dns_requests_total'), /dns_requests_total [1-9]\d*/);
});

test('before the first table: forwarded by default, SERVFAIL when asked to; a table then answers', async () => {
  for (const mode of ['forward', 'servfail'] as const) {
    const fresh = new DnsProxy({ address: '127.0.0.1:0', upstreams: [upstream.address], lookup: ISTIO_SETTINGS, log: silentLogger, beforeFirstTable: mode, upstreamTimeoutMs: 300 });
    const { port: p } = await fresh.start();
    try {
      const r = await dig(p, 'www.bing.com', 'A');
      if (mode === 'forward') assert.deepEqual(r.answers, [{ name: 'www.bing.com.', ttl: 60, type: 'A', data: '1.1.1.1' }]);
      else assert.equal(r.status, 'SERVFAIL');
      fresh.updateTable(ISTIO_TABLE);
      assert.deepEqual((await dig(p, 'productpage.ns1', 'A')).answers, [{ name: 'productpage.ns1.', ttl: 30, type: 'A', data: '9.9.9.9' }]);
    } finally {
      await fresh.close();
    }
  }
});

test('a message without a question gets SERVFAIL; a response is never answered', async () => {
  const none = await proxy.answer(dnsPacket.encode({ id: 7, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [] }), 'udp');
  assert.ok(none);
  const decoded = dnsPacket.decode(none);
  assert.equal((decoded.flags ?? 0) & 0xf, 2, 'SERVFAIL');
  assert.equal(decoded.id, 7);
  assert.equal(await proxy.answer(dnsPacket.encode({ id: 8, type: 'response', questions: [{ type: 'A', name: 'x.test' }] }), 'udp'), undefined);
});

test('a header claiming more records than the message holds is FORMERR, neither answered nor forwarded (dns-packet would decode it, reading past the end)', async () => {
  // A query for an upstream name, then one empty HINFO record, with the header claiming three answers.
  const query = dnsPacket.encode({ id: 9, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'fuzz.unknown.test' }] });
  const packet = Buffer.concat([query, Buffer.from('00000d0001000000000000', 'hex')]);
  packet.writeUInt16BE(3, 6);
  assert.equal(dnsPacket.decode(packet).answers?.length, 3, 'the library alone takes it for a message with three answers');
  const before = upstream.received.length;
  for (const transport of ['udp', 'tcp'] as const) {
    const reply = await proxy.answer(packet, transport);
    assert.ok(reply, transport);
    const decoded = dnsPacket.decode(reply);
    assert.equal((decoded.flags ?? 0) & 0xf, 1, `${transport}: FORMERR`);
    assert.equal(decoded.id, 9);
    assert.deepEqual(decoded.answers, []);
  }
  assert.equal(upstream.received.length, before, 'nothing forwarded upstream');
});

/** A deterministic xorshift PRNG, so a failing case can be reproduced from its index. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

test('fuzz: 10,000 malformed packets never crash the proxy and nothing undecodable is forwarded', async () => {
  const random = prng(20261206);
  const valid = dnsPacket.encode({ id: 1, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'fuzz.unknown.test' }] });
  const before = upstream.received.length;
  let replies = 0;
  const packets: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) {
    let packet: Buffer;
    if (i % 4 === 0) {
      packet = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
    } else {
      packet = Buffer.from(valid);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) packet[Math.floor(random() * packet.length)] = Math.floor(random() * 256);
      if (i % 4 === 1) packet = packet.subarray(0, Math.floor(random() * packet.length));
    }
    packets.push(packet);
  }
  // Straight into the handler, 50 at a time: each must resolve, never throw; replies must decode.
  const fuzzed = new DnsProxy({ address: '127.0.0.1:0', upstreams: [upstream.address], lookup: ISTIO_SETTINGS, log: silentLogger });
  fuzzed.updateTable(ISTIO_TABLE);
  try {
    for (let i = 0; i < packets.length; i += 50) {
      const batch = await Promise.all(packets.slice(i, i + 50).map((p, j) => fuzzed.answer(p, (i + j) % 2 === 0 ? 'udp' : 'tcp')));
      for (const reply of batch.filter((r) => r !== undefined)) {
        dnsPacket.decode(reply);
        replies++;
      }
    }
  } finally {
    await fuzzed.close();
  }
  assert.ok(replies > 0);
  for (const forwarded of upstream.received.slice(before)) {
    const q = dnsPacket.decode(forwarded);
    assert.deepEqual(dnsPacket.decode(dnsPacket.encode(q)), q, 'only well-formed messages are forwarded');
  }
  // And the live sockets still answer after garbage on the wire.
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  for (let i = 0; i < 50; i++) s.send(Buffer.from([i, 1, 2]), port, '127.0.0.1');
  s.close();
  assert.equal((await dig(port, 'productpage.ns1', 'A')).answers.length, 1);
  assert.equal((await dig(port, 'productpage.ns1', 'A', '+tcp')).answers.length, 1);
});

/**
 * Rules A-V2-* (Istio's v2 address auto-allocation) and S-5 (allocated addresses on the service),
 * through the `endpoints` report's `addresses` (what the allocator writes to status.addresses).
 *
 * Not covered: A-V2-6 (status written with guarded JSON patches: meshbridge computes the same
 * addresses but writes no status here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpoints, objectsFrom, service, yamlDocs } from '../../test/support/mesh.js';
import { allocateAddresses } from './allocation.js';
import type { ServiceEntry } from '../model/config/types.js';

function se(name: string, opts: { hosts?: string; resolution?: string; labels?: string; addresses?: string; status?: string; time?: string } = {}): string {
  return `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata:
      name: ${name}
      namespace: ns1
      ${opts.time ? `creationTimestamp: "${opts.time}"` : ''}
      ${opts.labels ? `labels: ${opts.labels}` : ''}
    spec:
      hosts: ${opts.hosts ?? `[${name}.example.com]`}
      ${opts.addresses ? `addresses: ${opts.addresses}` : ''}
      ports: [{number: 443, name: tls, protocol: TLS}]
      resolution: ${opts.resolution ?? 'DNS'}
    ${opts.status ? `status:\n      addresses: ${opts.status}` : ''}
  `;
}

function addressesOf(config: string): Record<string, readonly string[]> {
  const r = endpoints(config);
  return Object.fromEntries(r.services.map((s) => [s.host, s.addresses]));
}

test('A-V2-1, A-V2-2, S-5: a qualifying entry gets one IPv4 and one IPv6 per host, in host order, from the first usable address', () => {
  const got = addressesOf(se('multi', { hosts: '[multihosttcpdns.com, secondhosttcpdns.com]' }));
  assert.deepEqual(got, {
    'multihosttcpdns.com': ['240.240.0.1', '2001:2::1'],
    'secondhosttcpdns.com': ['240.240.0.2', '2001:2::2'],
  });
});

test('A-V2-1: resolution NONE, the opt-out label (any case) or user addresses: nothing is allocated', () => {
  const got = addressesOf(
    yamlDocs(
      se('none', { resolution: 'NONE' }),
      se('optout', { labels: '{networking.istio.io/enable-autoallocate-ip: "False"}' }),
      se('user', { addresses: '[10.0.0.1]' }),
      se('static', { resolution: 'STATIC' }),
    ),
  );
  assert.deepEqual(got, {
    'none.example.com': [],
    'optout.example.com': [],
    'user.example.com': ['10.0.0.1'],
    'static.example.com': ['240.240.0.1', '2001:2::1'],
  });
});

test('A-V2-1: the opt-out label with value "true" does not opt out', () => {
  assert.deepEqual(addressesOf(se('keep', { labels: '{networking.istio.io/enable-autoallocate-ip: "true"}' })), {
    'keep.example.com': ['240.240.0.1', '2001:2::1'],
  });
});

test('A-V2-2: wildcard hosts get nothing, except with DYNAMIC_DNS; duplicate hosts are allocated once', () => {
  const got = addressesOf(
    yamlDocs(
      se('wild', { hosts: '["*.wild.example.com", plain.example.com, plain.example.com]', resolution: 'STATIC' }),
      `
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: {name: dyn, namespace: ns1}
      spec:
        hosts: ["*.dyn.example.com"]
        ports: [{number: 80, name: http, protocol: HTTP}]
        resolution: DYNAMIC_DNS
      `,
    ),
  );
  assert.deepEqual(got, {
    '*.dyn.example.com': ['240.240.0.2', '2001:2::2'],
    '*.wild.example.com': [],
    'plain.example.com': ['240.240.0.1', '2001:2::1'],
  });
});

test('A-V2-3: existing assignments are kept and skipped; an added host after .1..4 gets .5', () => {
  const got = addressesOf(
    yamlDocs(
      se('one', {
        hosts: '[a.example.com, b.example.com, e.example.com]',
        status: `[{host: a.example.com, value: 240.240.0.1}, {host: a.example.com, value: "2001:2::1"},
                  {host: b.example.com, value: 240.240.0.2}, {host: b.example.com, value: "2001:2::2"}]`,
      }),
      se('two', {
        hosts: '[c.example.com, d.example.com]',
        status: `[{host: c.example.com, value: 240.240.0.3}, {host: c.example.com, value: "2001:2::3"},
                  {host: d.example.com, value: 240.240.0.4}, {host: d.example.com, value: "2001:2::4"}]`,
      }),
    ),
  );
  assert.deepEqual(got, {
    'a.example.com': ['240.240.0.1', '2001:2::1'],
    'b.example.com': ['240.240.0.2', '2001:2::2'],
    'c.example.com': ['240.240.0.3', '2001:2::3'],
    'd.example.com': ['240.240.0.4', '2001:2::4'],
    'e.example.com': ['240.240.0.5', '2001:2::5'],
  });
});

test('A-V2-3: an existing assignment is kept even when it is not the lowest free address', () => {
  const got = addressesOf(
    se('kept', { status: '[{host: kept.example.com, value: 240.240.7.7}, {host: kept.example.com, value: "2001:2::707"}]' }),
  );
  assert.deepEqual(got, { 'kept.example.com': ['240.240.7.7', '2001:2::707'] });
});

test('A-V2-3: addresses inside the ranges written in any spec.addresses are skipped', () => {
  const got = addressesOf(yamlDocs(se('user', { resolution: 'NONE', addresses: '[240.240.0.1, "2001:2::1"]' }), se('auto')));
  assert.deepEqual(got['auto.example.com'], ['240.240.0.2', '2001:2::2']);
});

test('A-V2-3: a removed host is dropped and its address is not immediately reused by another host', () => {
  const got = addressesOf(
    se('moved', {
      hosts: '[new.example.com]',
      status: '[{host: old.example.com, value: 240.240.0.1}, {host: old.example.com, value: "2001:2::1"}]',
    }),
  );
  assert.deepEqual(got, { 'new.example.com': ['240.240.0.2', '2001:2::2'] });
});

test('A-V2-4: two entries holding the same address: the oldest keeps it, the other is re-assigned', () => {
  const status = '[{host: HOST, value: 240.240.0.1}, {host: HOST, value: "2001:2::1"}]';
  const got = addressesOf(
    yamlDocs(
      se('young', { time: '2024-02-01T00:00:00Z', status: status.replaceAll('HOST', 'young.example.com') }),
      se('old', { time: '2024-01-01T00:00:00Z', status: status.replaceAll('HOST', 'old.example.com') }),
    ),
  );
  assert.deepEqual(got, { 'old.example.com': ['240.240.0.1', '2001:2::1'], 'young.example.com': ['240.240.0.2', '2001:2::2'] });
});

test('A-V2-4: a user spec address that conflicts with an auto address re-assigns the auto holder', () => {
  const got = addressesOf(
    yamlDocs(
      se('auto', { time: '2024-01-01T00:00:00Z', status: '[{host: auto.example.com, value: 240.240.0.1}, {host: auto.example.com, value: "2001:2::1"}]' }),
      se('user', { time: '2024-02-01T00:00:00Z', resolution: 'STATIC', addresses: '[240.240.0.1]' }),
    ),
  );
  assert.deepEqual(got, { 'auto.example.com': ['240.240.0.2', '2001:2::1'], 'user.example.com': ['240.240.0.1'] });
});

test('A-V2-5: an entry that stops qualifying loses its allocated addresses', () => {
  const status = '[{host: gone.example.com, value: 240.240.0.1}, {host: gone.example.com, value: "2001:2::1"}]';
  assert.deepEqual(addressesOf(se('gone', { resolution: 'NONE', status })), { 'gone.example.com': [] });
  assert.deepEqual(addressesOf(se('gone', { labels: '{networking.istio.io/enable-autoallocate-ip: "false"}', status })), { 'gone.example.com': [] });
  assert.deepEqual(addressesOf(se('gone', { addresses: '[10.1.1.1]', status })), { 'gone.example.com': ['10.1.1.1'] });
});

test('S-5: with several values of a family in status, the last one wins', () => {
  const got = addressesOf(
    se('two', {
      status: '[{host: two.example.com, value: 240.240.0.9}, {host: two.example.com, value: 240.240.0.8}, {host: two.example.com, value: "2001:2::9"}]',
    }),
  );
  assert.deepEqual(got, { 'two.example.com': ['240.240.0.8', '2001:2::9'] });
});

test('A-V2-2: allocation is a pure function of all entries, in creation order (pure function check)', () => {
  const entries = objectsFrom(yamlDocs(se('b', { time: '2024-02-01T00:00:00Z' }), se('a', { time: '2024-01-01T00:00:00Z' }))) as ServiceEntry[];
  assert.deepEqual(allocateAddresses(entries), [
    { key: 'ServiceEntry/ns1/a', byHost: { 'a.example.com': ['240.240.0.1', '2001:2::1'] } },
    { key: 'ServiceEntry/ns1/b', byHost: { 'b.example.com': ['240.240.0.2', '2001:2::2'] } },
  ]);
  assert.deepEqual(service(endpoints(yamlDocs(se('b'), se('a'))), 'b.example.com').addresses, ['240.240.0.1', '2001:2::1']);
});

/**
 * Type robustness: validateResource takes any value at all and never throws. Every field of a valid
 * sample of every kind is replaced by values of the wrong type, out of range, null, huge or deeply
 * nested; the validator must answer with problems, never with an exception or an internal error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFieldPath } from '../../../lib/result/problem.js';
import type { Problem } from '../../../lib/result/problem.js';
import { validateResource } from './index.js';
import { expectClean, resource, show } from './test-support.js';

type Json = unknown;

const SAMPLES: Readonly<Record<string, Json>> = {
  ServiceEntry: resource('ServiceEntry', {
    hosts: ['a.example.com'],
    addresses: ['10.0.0.1'],
    ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 }],
    location: 'MESH_INTERNAL',
    resolution: 'STATIC',
    endpoints: [{ address: '1.1.1.1', ports: { http: 8080 }, labels: { app: 'a' }, network: 'n', locality: 'r/z', weight: 2, serviceAccount: 'sa' }],
    exportTo: ['.'],
    subjectAltNames: ['spiffe://cluster.local/ns/a/sa/b'],
  }),
  WorkloadEntry: resource('WorkloadEntry', { address: '1.1.1.1', ports: { http: 8080 }, labels: { app: 'a' }, weight: 1 }),
  WorkloadGroup: resource('WorkloadGroup', {
    metadata: { labels: { app: 'a' }, annotations: { a: 'b' } },
    template: { ports: { http: 8080 }, serviceAccount: 'sa' },
    probe: { periodSeconds: 5, httpGet: { port: 8080, path: '/ready', scheme: 'HTTP', httpHeaders: [{ name: 'X-A', value: 'b' }] } },
  }),
  DestinationRule: resource('DestinationRule', {
    host: 'a.example.com',
    trafficPolicy: {
      loadBalancer: { simple: 'ROUND_ROBIN', localityLbSetting: { distribute: [{ from: 'r1/*', to: { 'r1/*': 100 } }] } },
      connectionPool: { tcp: { maxConnections: 10, connectTimeout: '1s' }, http: { maxRetries: 3 } },
      outlierDetection: { interval: '1s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      tls: { mode: 'ISTIO_MUTUAL' },
      portLevelSettings: [{ port: { number: 80 }, loadBalancer: { simple: 'RANDOM' } }],
    },
    subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { tls: { mode: 'DISABLE' } } }],
  }),
  VirtualService: resource('VirtualService', {
    hosts: ['a.example.com'],
    gateways: ['mesh'],
    http: [
      {
        match: [{ uri: { prefix: '/a' }, headers: { x: { exact: 'y' } }, port: 80 }],
        route: [{ destination: { host: 'a.example.com', subset: 'v1', port: { number: 80 } }, weight: 90 }, { destination: { host: 'b' }, weight: 10 }],
        timeout: '2s',
        retries: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx' },
        fault: { delay: { fixedDelay: '1s', percentage: { value: 5 } } },
      },
    ],
    tcp: [{ match: [{ port: 9000 }], route: [{ destination: { host: 'c' } }] }],
  }),
  PeerAuthentication: resource('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'DISABLE' } } }),
  AuthorizationPolicy: resource('AuthorizationPolicy', {
    action: 'ALLOW',
    rules: [{ from: [{ source: { namespaces: ['a'] } }], to: [{ operation: { ports: ['80'], methods: ['GET'] } }], when: [{ key: 'source.ip', values: ['10.0.0.0/8'] }] }],
  }),
  Pod: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns1', labels: { app: 'a' } },
    spec: { serviceAccountName: 'sa', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: { podIP: '10.0.0.1', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  },
  Service: {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'ns1' },
    spec: { selector: { app: 'a' }, clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  },
  Node: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', labels: { 'topology.kubernetes.io/zone': 'z' } }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }] } },
  MeshConfig: resource('MeshConfig', { trustDomain: 'cluster.local', enableAutoMtls: true, localityLbSetting: { enabled: true }, defaultServiceExportTo: ['*'] }),
  MeshNetworks: resource('MeshNetworks', { networks: { n1: { endpoints: [{ fromCidr: '10.0.0.0/8' }], gateways: [{ address: '1.2.3.4', port: 15443 }] } } }),
};

function deep(depth: number): Json {
  let value: Json = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { nested: value } : [value];
  return value;
}

const HUGE = 'x'.repeat(1_000_000);
const REPLACEMENTS: readonly Json[] = [null, '', 'text', HUGE, -1, 0, 1.5, 2 ** 32, 2 ** 53 + 2, Number.NaN, true, [], [null], {}, { '': null }, 10n, deep(5000)];

/** Every path to every value inside `value` (objects and lists included). */
function paths(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function replaced(value: Json, path: ReadonlyArray<string | number>, replacement: Json): Json {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  if (Array.isArray(value)) return (value as Json[]).map((v, i) => (i === head ? replaced(v, rest, replacement) : v));
  if (typeof value === 'object' && value !== null) return { ...value, [head]: replaced((value as Record<string, Json>)[head], rest, replacement) };
  return value;
}

function validateSafely(raw: Json, label: string): Problem[] {
  const problems = validateResource(raw);
  assert.ok(Array.isArray(problems), label);
  const internal = problems.filter((p) => p.message.startsWith('Internal validator error'));
  assert.equal(internal.length, 0, `${label}\n${show(internal)}`);
  return problems;
}

test('robustness: the samples of every kind are valid', () => {
  for (const sample of Object.values(SAMPLES)) expectClean(validateResource(sample));
});

test('robustness: any field of any kind replaced by any value never throws', () => {
  for (const [kind, sample] of Object.entries(SAMPLES)) {
    for (const path of paths(sample)) {
      for (const replacement of REPLACEMENTS) {
        validateSafely(replaced(sample, path, replacement), `${kind} ${formatFieldPath(path)}`);
      }
    }
  }
});

test('robustness: a wrong JSON type in a known field is an error at that field', () => {
  const wrongType = (value: Json): Json => (typeof value === 'string' ? { not: 'a string' } : typeof value === 'number' ? 'not a number' : typeof value === 'boolean' ? 'yes' : Array.isArray(value) ? 'not a list' : 'not an object');
  for (const [kind, sample] of Object.entries(SAMPLES)) {
    for (const path of paths(sample)) {
      if (path.length < 2 || path[0] === 'apiVersion' || path[0] === 'kind') continue;
      const original = path.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], sample);
      // Map keys (labels, ports maps, localities) have no fixed schema of their own; their values do.
      const problems = validateSafely(replaced(sample, path, wrongType(original)), `${kind} ${formatFieldPath(path)}`);
      const at = formatFieldPath(path);
      const hit = problems.some((p) => p.severity === 'error' && (formatFieldPath(p.path).startsWith(at) || at.startsWith(formatFieldPath(p.path))));
      assert.ok(hit, `${kind}: no error at ${at}\n${show(problems)}`);
    }
  }
});

test('robustness: cyclic values, exotic objects and huge lists are handled', () => {
  const cyclic: Record<string, Json> = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v' } };
  const match: Record<string, Json> = { uri: { prefix: '/' } };
  match.self = match;
  cyclic.spec = { hosts: ['a.b'], http: [{ match: [match], route: [{ destination: { host: 'a.b' } }] }, { match: [match], route: [{ destination: { host: 'a.b' } }] }] };
  validateSafely(cyclic, 'cyclic VirtualService');
  validateSafely(Object.create(null) as Json, 'null-prototype object');
  validateSafely({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', __proto__: { polluted: true } } }, '__proto__ key');
  validateSafely({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { constructor: 1, toString: 2 } }, 'prototype names as keys');
  validateSafely(new Date(), 'a Date');
  validateSafely(new Map([['kind', 'Pod']]), 'a Map');
  const many = resource('VirtualService', { hosts: Array.from({ length: 5000 }, (_, i) => `h${i}.com`), http: [{ route: [{ destination: { host: 'a' } }] }] });
  const started = Date.now();
  validateSafely(many, 'many hosts');
  assert.ok(Date.now() - started < 1000, 'many hosts should be fast');
});

/**
 * The examples folder end to end: the `endpoints` report for the scenarios of examples/README.md
 * ("What `endpoints` should show"), hand-computed from the rules cited there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { registryFromObjects } from '../src/registry/offline-mesh.js';
import { endpointsReport, type ClusterReport } from '../src/status/endpoints-report.js';
import { loadConfig } from '../src/model/config/load.js';
import type { ClientProxyOptions } from '../src/registry/view/client.js';
import { readConfigFiles } from '../src/sources/file/read-files.js';
import type { Registry } from '../src/registry/registry.js';

const examples = fileURLToPath(new URL('../../examples', import.meta.url));
let registry: Registry | undefined;

async function examplesRegistry(): Promise<Registry> {
  if (!registry) {
    const loaded = loadConfig(await readConfigFiles([examples]));
    assert.deepEqual(loaded.findings.filter((f) => f.severity === 'error'), []);
    registry = registryFromObjects(loaded.objects);
  }
  return registry;
}

async function groups(client: ClientProxyOptions, host: string): Promise<Record<string, string[]>> {
  const r = endpointsReport(await examplesRegistry(), client, { host }, false);
  return Object.fromEntries(
    r.clusters.map((c: ClusterReport) => [
      `${c.name} ${c.type}`,
      c.localities.map((g) => `${g.locality} p${g.priority} w${g.weight}: ${g.endpoints.map((e) => `${e.address}:${e.port}/${e.tlsMode ?? 'null'}`).join(' ')}`),
    ]),
  );
}

test('examples: svc1 and its migration subsets (E-SEL-5, EDS-5, EDS-9, C-1)', async () => {
  assert.deepEqual(await groups({ namespace: 'vm-demo' }, 'svc1.internal.com'), {
    'outbound|80||svc1.internal.com EDS': [
      ' p0 w2: 127.0.2.1:80/null 127.0.2.2:80/null',
      'us-east1/us-east1-b/rack-1 p0 w2: 127.0.1.11:8080/istio 127.0.1.12:8080/istio',
    ],
    'outbound|80|vm|svc1.internal.com EDS': [' p0 w2: 127.0.2.1:80/null 127.0.2.2:80/null'],
    'outbound|80|k8s|svc1.internal.com EDS': ['us-east1/us-east1-b/rack-1 p0 w2: 127.0.1.11:8080/istio 127.0.1.12:8080/istio'],
  });
});

test('examples: details from pods (node locality) and a VM in one locality group (E-ATTR-3, EDS-5)', async () => {
  assert.deepEqual(await groups({ namespace: 'bookinfo', locality: 'us-east1/us-east1-b/rack-1' }, 'details.bookinfo.com'), {
    'outbound|80||details.bookinfo.com EDS': ['us-east1/us-east1-b/rack-1 p0 w3: 127.0.1.21:8080/istio 127.0.1.22:8080/istio 127.0.2.20:8080/istio'],
  });
});

test('examples: details by DNS and the unix socket (E-SEL-6, E-PORT-1, EDS-8)', async () => {
  assert.deepEqual(await groups({ namespace: 'bookinfo-dns' }, 'details.bookinfo.com'), {
    'outbound|80||details.bookinfo.com STRICT_DNS': [' p0 w1: vm1.vpc01.corp.example:8080/istio'],
  });
  assert.deepEqual(await groups({ namespace: 'vm-demo' }, 'inventory.legacy.internal'), {
    'outbound|80||inventory.legacy.internal EDS': [' p0 w1: unix:///var/run/legacy-inventory/http.sock:0/null'],
  });
  assert.deepEqual(await groups({ namespace: 'bookinfo' }, 'inventory.legacy.internal'), {});
});

test('examples: ratings across two networks from each side, by flags or by client IP (N-3..N-5, L-4, L-10)', async () => {
  const fromNetwork1 = {
    'outbound|9080||ratings.bookinfo.com EDS': [
      'europe-west1/europe-west1-c/rack-1 p1 w2: 127.0.3.2:15443/istio',
      'us-east1/us-east1-b/rack-1 p0 w2: 127.0.2.31:9080/istio 127.0.2.32:9080/istio',
    ],
  };
  assert.deepEqual(await groups({ namespace: 'bookinfo', network: 'network-1', locality: 'us-east1/us-east1-b/rack-1' }, 'ratings.bookinfo.com'), fromNetwork1);
  assert.deepEqual(await groups({ namespace: 'bookinfo', ip: '127.0.2.31' }, 'ratings.bookinfo.com'), fromNetwork1);
  assert.deepEqual(await groups({ namespace: 'bookinfo', network: 'network-2', locality: 'europe-west1/europe-west1-c/rack-1' }, 'ratings.bookinfo.com'), {
    'outbound|9080||ratings.bookinfo.com EDS': [
      'europe-west1/europe-west1-c/rack-1 p0 w2: 127.0.2.41:9080/istio 127.0.2.42:9080/istio',
      'us-east1/us-east1-b/rack-1 p1 w2: 127.0.3.1:15443/istio',
    ],
  });
  assert.deepEqual(await groups({ namespace: 'bookinfo' }, 'ratings.bookinfo.com'), {
    'outbound|9080||ratings.bookinfo.com EDS': [
      'europe-west1/europe-west1-c/rack-1 p0 w2: 127.0.3.2:15443/istio',
      'us-east1/us-east1-b/rack-1 p0 w2: 127.0.3.1:15443/istio',
    ],
  });
});

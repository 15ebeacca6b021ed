/**
 * Issue 17: `workload entry configure --ip` writes `envoy-bootstrap.yaml` into the bootstrap folder
 * (the agent rewrites it at start: test/e2e/dns-agent.test.ts). The file decodes strictly into
 * Envoy's Bootstrap type (no unknown field) and passes every validate.rules constraint; its node is
 * the workload as the agent registers it, it reaches the agent's xDS proxy with the proxy's local
 * secret (node metadata, which the proxy checks) and the agent's SDS socket in the folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { parse } from 'yaml';
import { runCli } from '../../src/cli/main.js';
import { BootstrapSchema } from '../../src/gen/envoy/config/bootstrap/v3/bootstrap_pb.js';
import { ENVOY_TYPE_REGISTRY } from '../../src/xds/generate/envoy/index.js';
import { checkConstraints } from '../../src/xds/types/constraints.js';
import { LOCAL_SECRET_METADATA } from '../../src/agent/xds-proxy.js';
import { LOCAL_SECRET_FILE } from '../../src/agent/bootstrap.js';

const GROUP = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: web-vm, namespace: vm-demo}
spec:
  metadata: {labels: {app: web}}
  template: {serviceAccount: web, network: vpc-1, ports: {http: 8080}}
`;

async function configure(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const chunks = { out: [] as string[], err: [] as string[] };
  const sink = (into: string[]) => new Writable({ write: (c: Buffer, _e, cb) => (into.push(c.toString()), cb()) });
  const code = await runCli(['workload', 'entry', 'configure', ...args], sink(chunks.out), sink(chunks.err));
  return { code, stdout: chunks.out.join(''), stderr: chunks.err.join('') };
}

test('configure --ip writes envoy-bootstrap.yaml: strict Bootstrap, every Envoy constraint, the agent\'s node, xDS proxy and SDS socket', async () => {
  const work = mkdtempSync(join(tmpdir(), 'mb-envoy-boot-'));
  writeFileSync(join(work, 'group.yaml'), GROUP);
  const dir = join(work, 'vm');
  const r = await configure(['-f', join(work, 'group.yaml'), '-o', dir, '--control-plane', '127.0.0.1:15012', '--state-dir', join(work, 'keys'), '--ip', '127.0.65.7']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /mesh\.yaml, envoy-bootstrap\.yaml\)/);
  const file = join(dir, 'envoy-bootstrap.yaml');
  assert.equal(statSync(file).mode & 0o777, 0o600, 'it holds the local secret');
  // fromJson refuses unknown fields: a misspelt field would throw here.
  const bootstrap = fromJson(BootstrapSchema, parse(readFileSync(file, 'utf8')) as JsonValue, { registry: ENVOY_TYPE_REGISTRY });
  assert.deepEqual(checkConstraints(BootstrapSchema, bootstrap, ENVOY_TYPE_REGISTRY), []);
  assert.equal(bootstrap.node?.id, 'sidecar~127.0.65.7~web-vm-127.0.65.7-vpc-1.vm-demo~vm-demo.svc.cluster.local');
  assert.equal(bootstrap.node?.metadata?.NETWORK, 'vpc-1');
  assert.equal(bootstrap.node?.metadata?.[LOCAL_SECRET_METADATA], readFileSync(join(dir, LOCAL_SECRET_FILE), 'utf8').trim());
  const endpoint = (name: string) => {
    const id = bootstrap.staticResources?.clusters.find((c) => c.name === name)?.loadAssignment?.endpoints[0]?.lbEndpoints[0]?.hostIdentifier;
    const address = id?.case === 'endpoint' ? id.value.address?.address : undefined;
    return address?.case === 'socketAddress' ? `${address.value.address}:${address.value.portSpecifier.case === 'portValue' ? address.value.portSpecifier.value : ''}` : address?.case === 'pipe' ? address.value.path : undefined;
  };
  assert.equal(endpoint('xds-grpc'), '127.0.0.1:15011');
  assert.equal(endpoint('sds-grpc'), join(dir, 'sds.sock'));

  const bad = await configure(['-f', join(work, 'group.yaml'), '-o', join(work, 'other'), '--control-plane', '127.0.0.1:15012', '--state-dir', join(work, 'keys'), '--ip', 'not-an-ip']);
  assert.deepEqual({ code: bad.code, stderr: bad.stderr }, { code: 2, stderr: 'meshbridge: --ip must be an IP address, not "not-an-ip"\n' });
});

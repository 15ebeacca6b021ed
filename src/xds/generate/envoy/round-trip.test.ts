// Every generated Envoy resource survives encode → decode → encode byte for byte, and decodes with
// no unknown field anywhere, including inside packed Anys (which would mean a field or type the
// proxy's schema does not know: a packing mistake or a proto mismatch).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { anyUnpack, type Any } from '@bufbuild/protobuf/wkt';
import { ClusterSchema } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { ENVOY_TYPE_REGISTRY } from './index.js';
import { allResources, exampleFiles, generateFor, GOLDEN_PROXIES, registryOf, registryOfYaml, sidecar, type EnvoyResources } from '../../../../test/support/xds-generation.js';
import { SECURE_GRPC, SHOP, VM, WEB } from '../../../../test/support/xds-test-meshes.js';
import { NodeSchema } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { proxyIdentityFromNode } from '../../../model/mesh/proxy-identity.js';
import { grpcGenerator } from '../grpc-generator.js';

/** Paths of messages carrying unknown fields, and of Anys whose type is not in the registry. */
export function unknownFields(value: unknown, path: string, out: string[] = []): string[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => unknownFields(v, `${path}[${i}]`, out));
    return out;
  }
  const o = value as Record<string, unknown> & { $typeName?: unknown; $unknown?: { no: number }[] };
  if (typeof o.$typeName === 'string') {
    if (o.$unknown && o.$unknown.length > 0) out.push(`${path} (${o.$typeName}): unknown field numbers ${o.$unknown.map((u) => u.no).join(',')}`);
    if (o.$typeName === 'google.protobuf.Any') {
      const any = o as unknown as Any;
      const inner = anyUnpack(any, ENVOY_TYPE_REGISTRY);
      if (!inner) out.push(`${path}: Any of a type outside the registry: ${any.typeUrl}`);
      else unknownFields(inner, `${path}<${inner.$typeName}>`, out);
      return out;
    }
  }
  for (const [k, v] of Object.entries(o)) if (k !== '$unknown') unknownFields(v, `${path}.${k}`, out);
  return out;
}

function roundTrip<D extends DescMessage>(schema: D, message: MessageShape<D>, label: string): void {
  const bytes = toBinary(schema, message);
  const decoded = fromBinary(schema, bytes);
  assert.deepEqual(toBinary(schema, decoded), bytes, `${label}: re-encoding changes the bytes`);
  assert.deepEqual(unknownFields(decoded, label), [], `${label}: unknown fields after decoding`);
}

const registry = registryOf(exampleFiles());
const views: [string, EnvoyResources][] = [
  ...Object.entries(GOLDEN_PROXIES).map(([name, o]): [string, EnvoyResources] => [name, generateFor(registry, sidecar(o))]),
  ['the shop mesh (TLS modes, DNS, passthrough)', generateFor(registryOfYaml(SHOP), sidecar({ namespace: 'shop' }))],
  ['the web mesh (TCP listeners, ring hash)', generateFor(registryOfYaml(WEB), sidecar({ namespace: 'web' }))],
  ['the VM mesh (inbound HTTP, gRPC, TCP)', generateFor(registryOfYaml(VM), sidecar({ namespace: 'apps', ip: '10.5.0.7' }))],
  [
    'a TLS-capable proxyless gRPC server (issue 7: UpstreamTlsContext, inbound DownstreamTlsContext, RBAC, listener metadata)',
    generateFor(
      registryOfYaml(`${SECURE_GRPC}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: apps}
spec: {action: DENY, rules: [{from: [{source: {namespaces: [evil]}}], to: [{operation: {methods: [POST], ports: ["8080"]}}], when: [{key: source.ip, values: [10.0.0.0/8]}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: apps}
spec: {rules: [{from: [{source: {principals: [cluster.local/ns/apps/sa/*]}}]}]}
`),
      proxyIdentityFromNode(create(NodeSchema, { id: 'proxyless~10.6.0.1~secure-1.apps~apps.svc.cluster.local', metadata: { GENERATOR: 'grpc', NAMESPACE: 'apps', CERTIFICATE_PROVIDERS: 'default' } })),
      { grpc: grpcGenerator },
    ),
  ],
];

for (const [name, resources] of views) {
  test(`round trip: every resource of ${name} re-encodes identically with no unknown fields`, () => {
    const all = allResources(resources);
    assert.ok(all.length > 5, `only ${all.length} resources`);
    for (const { type, name: n, message } of all) roundTrip(type.schema, message, `${type.shortName} ${n}`);
  });
}

test('round trip: the unknown-field walk does find unknown fields, at top level and inside an Any', () => {
  const cluster = create(ClusterSchema, { name: 'c' });
  // Field 9999, varint 1: not a Cluster field.
  const withUnknown = new Uint8Array([...toBinary(ClusterSchema, cluster), 0xf8, 0xe0, 0x04, 0x01]);
  assert.equal(unknownFields(fromBinary(ClusterSchema, withUnknown), 'c').length, 1);
  const any: Any = { $typeName: 'google.protobuf.Any', typeUrl: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', value: new Uint8Array([0xf8, 0xe0, 0x04, 0x01]) };
  assert.equal(unknownFields({ $typeName: 'x', a: any }, 'x').length, 1);
  const foreign: Any = { $typeName: 'google.protobuf.Any', typeUrl: 'type.googleapis.com/not.Registered', value: new Uint8Array() };
  assert.match(unknownFields(foreign, 'f')[0] ?? '', /outside the registry/);
});

// The relevance facts are derived collections of the registry: they follow every change of the
// services and the mesh settings without the pipeline keeping anything by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRegistry, createInputs, replaceInputs } from '../../registry/registry.js';
import { objectsFrom } from '../../../test/support/mesh.js';
import { deriveRelevance, type RelevanceFact } from './relevance.js';

function serviceEntry(name: string, namespace: string, host: string, extra = ''): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${namespace}${extra.startsWith('annotations') ? `, ${extra}` : ''} }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  ports: [{ number: 80, name: grpc, protocol: GRPC }]
  resolution: STATIC
${extra.startsWith('exportTo') ? `  ${extra}\n` : ''}`;
}

const MESH_EXPORTS_TO_OWN_NAMESPACE = `
apiVersion: meshbridge.io/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec: { defaultServiceExportTo: ["."] }
`;

const DESTINATION_RULE = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: s1, namespace: a }
spec: { host: s1.example.com, workloadSelector: { matchLabels: { app: client } } }
`;

test('relevance facts follow the services, the mesh default exportTo and the policies', () => {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  const derived = deriveRelevance(registry);
  const ids = (kind: RelevanceFact['kind']) => derived.factsByKind.lookup(kind).map((f) => f.id).sort();
  const facts = () => ({ distributionAnnotated: ids('traffic-distribution'), restrictedExport: ids('restricted-export'), sharedHosts: ids('shared-host') });
  const relevance = () => {
    const { namespace, network, locality, labels } = derived.relevance.value();
    return { namespace, network, locality, labels };
  };
  const apply = (...files: string[]) => replaceInputs(inputs, objectsFrom(...files));

  apply(serviceEntry('s1', 'a', 's1.example.com'), serviceEntry('s2', 'b', 's2.example.com'));
  assert.deepEqual(facts(), { distributionAnnotated: [], restrictedExport: [], sharedHosts: [] });
  assert.deepEqual(relevance(), { namespace: false, network: false, locality: false, labels: [] }, 'nothing reads a client attribute');

  apply(serviceEntry('s1', 'a', 's1.example.com', 'exportTo: ["."]'), serviceEntry('s2', 'b', 's2.example.com'));
  assert.deepEqual(facts().restrictedExport, ['a/s1.example.com']);
  assert.equal(relevance().namespace, true, 'a service exported to its own namespace only');

  apply(serviceEntry('s1', 'a', 's1.example.com'), serviceEntry('s2', 'b', 's2.example.com'), MESH_EXPORTS_TO_OWN_NAMESPACE);
  assert.deepEqual(facts().restrictedExport, ['a/s1.example.com', 'b/s2.example.com'], 'the mesh default restricts every service without its own exportTo');

  apply(serviceEntry('s1', 'a', 's1.example.com'), serviceEntry('s2', 'b', 's2.example.com'), serviceEntry('s1-b', 'b', 's1.example.com'));
  assert.deepEqual(facts(), { distributionAnnotated: [], restrictedExport: [], sharedHosts: ['s1.example.com'] });
  assert.equal(relevance().namespace, true, 'a host defined in two namespaces');

  apply(serviceEntry('s1', 'a', 's1.example.com', 'annotations: { networking.istio.io/traffic-distribution: PreferClose }'), serviceEntry('s2', 'b', 's2.example.com'));
  assert.deepEqual(facts(), { distributionAnnotated: ['a/s1.example.com'], restrictedExport: [], sharedHosts: [] }, 'the second namespace of the host is gone');
  assert.deepEqual(relevance(), { namespace: false, network: false, locality: true, labels: 'all' }, 'traffic distribution reads the locality and every label');

  apply(serviceEntry('s1', 'a', 's1.example.com'), serviceEntry('s2', 'b', 's2.example.com'), DESTINATION_RULE);
  assert.deepEqual(facts(), { distributionAnnotated: [], restrictedExport: [], sharedHosts: [] });
  assert.deepEqual(relevance(), { namespace: true, network: false, locality: true, labels: ['app'] }, 'a DestinationRule reads the namespace, the locality and its selector keys');

  apply(serviceEntry('s1', 'a', 's1.example.com'), serviceEntry('s2', 'b', 's2.example.com'));
  assert.deepEqual(relevance(), { namespace: false, network: false, locality: false, labels: [] }, 'and back');
});

import { test } from 'node:test';
import { validateResource } from './index.js';
import { expectClean, expectProblem, expectValid } from './test-support.js';

const mesh = (kind: 'MeshConfig' | 'MeshNetworks', spec: unknown) =>
  validateResource({ apiVersion: 'meshbridge.io/v1alpha1', kind, metadata: { name: 'mesh', namespace: 'istio-system' }, spec });

test('MeshConfig: the documented fields with their types', () => {
  expectClean(mesh('MeshConfig', { trustDomain: 'cluster.local', enableAutoMtls: true, localityLbSetting: { enabled: true }, defaultServiceExportTo: ['*'], rootNamespace: 'istio-system', clusterId: 'Kubernetes' }));
  expectClean(mesh('MeshConfig', undefined));
  expectProblem(mesh('MeshConfig', { trustDomain: '' }), { severity: 'error', at: 'spec.trustDomain' });
  expectProblem(mesh('MeshConfig', { trustDomain: 'a..b' }), { severity: 'error', at: 'spec.trustDomain' });
  expectProblem(mesh('MeshConfig', { enableAutoMtls: 'yes' }), { severity: 'error', at: 'spec.enableAutoMtls' });
  expectProblem(mesh('MeshConfig', { localityLbSetting: { enabled: 'true' } }), { severity: 'error', at: 'spec.localityLbSetting.enabled' });
  expectProblem(mesh('MeshConfig', { localityLbSetting: { distribute: [{ from: 'r1', to: { r1: 60 } }] } }), { severity: 'error', at: 'spec.localityLbSetting.distribute[0].to' });
  expectClean(mesh('MeshConfig', { localityLbSetting: { failover: [{ from: 'r1', to: 'r2' }] } }));
  expectProblem(mesh('MeshConfig', { defaultServiceExportTo: ['*', '.'] }), { severity: 'error', at: 'spec.defaultServiceExportTo', rule: 'V-EXP-3' });
  expectProblem(mesh('MeshConfig', { defaultServiceExportTo: ['ns_1'] }), { severity: 'error', at: 'spec.defaultServiceExportTo[0]', rule: 'V-EXP-1' });
  expectProblem(mesh('MeshConfig', { rootNamespace: 'Istio System' }), { severity: 'error', at: 'spec.rootNamespace' });
  expectProblem(mesh('MeshConfig', { clusterId: '' }), { severity: 'error', at: 'spec.clusterId' });
  const unknown = mesh('MeshConfig', { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } });
  expectValid(unknown);
  expectProblem(unknown, { severity: 'warning', at: 'spec.outboundTrafficPolicy' });
});

test('MeshNetworks: endpoints take exactly one of fromRegistry or fromCidr; gateways an address or a service name and a port', () => {
  expectClean(
    mesh('MeshNetworks', {
      networks: {
        network1: { endpoints: [{ fromCidr: '10.1.0.0/16' }, { fromRegistry: 'Kubernetes' }], gateways: [{ address: '159.122.219.1', port: 80 }] },
        network2: { gateways: [{ registryServiceName: 'istio-eastwestgateway.istio-system.svc.cluster.local', port: 15443 }] },
        network3: { gateways: [{ address: 'gw.example.com', port: 15443, locality: 'r1/z1' }] },
      },
    }),
  );
  expectClean(mesh('MeshNetworks', { networks: {} }));
  const at = 'spec.networks.n1';
  expectProblem(mesh('MeshNetworks', { networks: { n1: { endpoints: [{}] } } }), { severity: 'error', at: `${at}.endpoints[0]` });
  expectProblem(mesh('MeshNetworks', { networks: { n1: { endpoints: [{ fromCidr: '10.0.0.0/8', fromRegistry: 'k' }] } } }), { severity: 'error', at: `${at}.endpoints[0]` });
  expectProblem(mesh('MeshNetworks', { networks: { n1: { endpoints: [{ fromCidr: '10.0.0.0/33' }] } } }), { severity: 'error', at: `${at}.endpoints[0].fromCidr` });
  expectProblem(mesh('MeshNetworks', { networks: { n1: { endpoints: [{ fromRegistry: 'bad_name' }] } } }), { severity: 'error', at: `${at}.endpoints[0].fromRegistry` });
  expectProblem(mesh('MeshNetworks', { networks: { n1: { gateways: [{ port: 80 }] } } }), { severity: 'error', at: `${at}.gateways[0]` });
  expectProblem(mesh('MeshNetworks', { networks: { n1: { gateways: [{ address: '1.2.3.4' }] } } }), { severity: 'error', at: `${at}.gateways[0].port` });
  expectProblem(mesh('MeshNetworks', { networks: { n1: { gateways: [{ address: '1.2.3.4', port: '80' }] } } }), { severity: 'error', at: `${at}.gateways[0].port` });
  expectProblem(mesh('MeshNetworks', { networks: { n1: { gateways: [{ address: '1.2.3.4:80', port: 80 }] } } }), { severity: 'error', at: `${at}.gateways[0].address` });
  expectProblem(mesh('MeshNetworks', { networks: { n1: null } }), { severity: 'error', at });
  expectProblem(mesh('MeshNetworks', { networks: [] }), { severity: 'error', at: 'spec.networks' });
});

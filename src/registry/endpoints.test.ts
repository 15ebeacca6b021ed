/**
 * Rules E-PORT-* (which port an endpoint gets), proved through the registry and the `endpoints`
 * report, plus the pure `endpointPort` precedence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addresses, cluster, endpoints, pod, service, sortedAddresses, workloadEntry, yamlDocs } from '../../test/support/mesh.js';
import { endpointPort } from './endpoints.js';
import type { ServicePort } from '../model/mesh/types.js';

function entry(targetPort: string, ports = '[{number: 80, name: http, protocol: http%TP%}]'): string {
  return `
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: service-entry, namespace: ns1}
    spec:
      hosts: [service.namespace.svc.cluster.local]
      ports: ${ports.replace('%TP%', targetPort === '' ? '' : `, targetPort: ${targetPort}`)}
      resolution: STATIC
      workloadSelector:
        labels: {app: foo}
  `;
}
const C = 'outbound|80||service.namespace.svc.cluster.local';

test('E-PORT-1: unix address -> 0; port map under the service port name -> that; else targetPort; else the port number', () => {
  const port: ServicePort = { number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 };
  assert.equal(endpointPort({ addressKind: 'unix', ports: { http: 9999 } }, port), 0);
  assert.equal(endpointPort({ addressKind: 'ip', ports: { http: 8081 } }, port), 8081);
  assert.equal(endpointPort({ addressKind: 'ip', ports: { other: 8081 } }, port), 8080);
  assert.equal(endpointPort({ addressKind: 'ip', ports: {} }, { ...port, targetPort: 0 }), 80);
  assert.equal(endpointPort({ addressKind: 'ip', ports: { http: 0 } }, port), 8080, 'a zero map entry does not count');
});

test('E-PORT-1, E-PORT-3: ports map beats targetPort, an entry under another name is ignored (TestWorkloadInstances "External only")', () => {
  const workloads = [
    workloadEntry('a', 'ns1', 'address: 2.3.4.5\nlabels: {app: foo}\nports: {http: 8081}'),
    workloadEntry('b', 'ns1', 'address: 2.3.4.6\nlabels: {app: foo}\nports: {different-port-name: 8081}'),
    workloadEntry('c', 'ns1', 'address: 2.3.4.7\nlabels: {app: foo}'),
  ];
  assert.deepEqual(sortedAddresses(cluster(endpoints(yamlDocs(entry('8080'), ...workloads)), C)), ['2.3.4.5:8081', '2.3.4.6:8080', '2.3.4.7:8080']);
  assert.deepEqual(sortedAddresses(cluster(endpoints(yamlDocs(entry(''), ...workloads)), C)), ['2.3.4.5:8081', '2.3.4.6:80', '2.3.4.7:80']);
});

test('E-PORT-1: the port map is keyed by the service port name, never by number', () => {
  const r = endpoints(yamlDocs(entry('8080'), workloadEntry('a', 'ns1', 'address: 2.3.4.5\nlabels: {app: foo}\nports: {"80": 9090}')));
  assert.deepEqual(addresses(cluster(r, C)), ['2.3.4.5:8080']);
});

test('E-PORT-1, EDS-8: an inline unix-socket endpoint has port 0 and is sent as unix:///path', () => {
  const r = endpoints(`
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: uds-local, namespace: ns1}
    spec:
      hosts: [uds.cluster.local]
      ports: [{number: 6553, name: grpc-1, protocol: grpc, targetPort: 7000}]
      resolution: STATIC
      endpoints:
      - address: unix:///test/sock
        labels: {security.istio.io/tlsMode: istio}
  `);
  assert.deepEqual(addresses(service(r, 'uds.cluster.local').endpoints), ['unix:///test/sock:0']);
  const c = cluster(r, 'outbound|6553||uds.cluster.local');
  assert.equal(c.type, 'EDS');
  assert.deepEqual(addresses(c), ['unix:///test/sock:0']);
});

test('E-PORT-2: for pods the port map is the named TCP container ports; the first container wins; native sidecars count after', () => {
  const spec = `
containers:
- name: app
  ports:
  - {name: http, containerPort: 8080}
  - {name: metrics, containerPort: 9090, protocol: UDP}
  - {containerPort: 7070}
- name: second
  ports:
  - {name: http, containerPort: 18080}
initContainers:
- name: native-sidecar
  restartPolicy: Always
  ports:
  - {name: http, containerPort: 28080}
  - {name: admin, containerPort: 15000}
- name: plain-init
  ports:
  - {name: setup, containerPort: 5000}`;
  const r = endpoints(
    yamlDocs(
      entry('', '[{number: 80, name: http, protocol: HTTP}, {number: 81, name: metrics, protocol: HTTP}, {number: 82, name: admin, protocol: HTTP}, {number: 83, name: setup, protocol: HTTP}]'),
      pod('p', 'ns1', '10.0.0.1', 'app: foo', spec),
    ),
  );
  assert.deepEqual(
    service(r, 'service.namespace.svc.cluster.local').endpoints.map((e) => `${e.servicePort}->${e.port}`),
    ['80->8080', '81->81', '82->15000', '83->83'],
  );
});

test('E-PORT-4: every service port yields an endpoint for every workload (no opting out)', () => {
  const r = endpoints(
    yamlDocs(
      entry('', '[{number: 80, name: http, protocol: HTTP}, {number: 443, name: https, protocol: HTTPS}]'),
      workloadEntry('a', 'ns1', 'address: 1.1.1.1\nlabels: {app: foo}\nports: {http: 8080}'),
    ),
  );
  assert.deepEqual(
    service(r, 'service.namespace.svc.cluster.local').endpoints.map((e) => `${e.servicePort}->${e.port}`),
    ['80->8080', '443->443'],
  );
});

test('E-PORT-5: an endpoint remembers the service port name and number', () => {
  const r = endpoints(yamlDocs(entry('8080'), workloadEntry('a', 'ns1', 'address: 1.1.1.1\nlabels: {app: foo}')));
  const e = service(r, 'service.namespace.svc.cluster.local').endpoints[0];
  assert.deepEqual([e?.servicePort, e?.portName, e?.port], [80, 'http', 8080]);
});

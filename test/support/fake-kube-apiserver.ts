/**
 * THE TEST DOUBLE of the project: a fake Kubernetes API server, because no real kube-apiserver (kind,
 * k3s, kwok, envtest) can be installed on the machines this project is built on. Everything else in
 * the tests is real; this is not. Its fidelity is checked with a real client nobody here wrote
 * (`kubectl`, test/kube/fake-apiserver-kubectl.test.ts) and its list/watch semantics over plain HTTP
 * (test/kube/fake-apiserver.test.ts). What it implements, and what it does not: docs/kubernetes-fake.md.
 *
 * ```ts
 * const kube = await FakeKubeApiServer.start({ token: 't' });
 * kube.store.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'default' }, status: { phase: 'Running' } });
 * kube.writeKubeconfig('/tmp/kubeconfig');
 * kube.failNext(3, 500);           // fault injection
 * kube.requests((r) => r.verb === 'watch');
 * await kube.close();
 * ```
 */
import { CertificateAuthority } from '../../src/security/ca.js';
import { FakeKubeApiServer, type FakeKubeOptions } from './fake-kube/server.js';
import type { JsonObject } from './fake-kube/status.js';

export { FakeKubeApiServer, type FakeKubeOptions, type RequestRecord, type Verb } from './fake-kube/server.js';
export { KubeStore, PATCH_TYPES, type StoredEvent } from './fake-kube/store.js';
export { KubeError, type JsonObject, type JsonValue } from './fake-kube/status.js';

interface CrdSpec {
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly shortNames?: readonly string[];
  readonly scope?: 'Namespaced' | 'Cluster';
  readonly versions?: readonly string[];
}

/** A CustomResourceDefinition as `kubectl apply` would send it: every version served, the first stored, each with `/status`. */
export function crd(spec: CrdSpec): JsonObject {
  const versions = spec.versions ?? ['v1'];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${spec.plural}.${spec.group}` },
    spec: {
      group: spec.group,
      names: {
        kind: spec.kind,
        listKind: `${spec.kind}List`,
        plural: spec.plural,
        singular: spec.kind.toLowerCase(),
        ...(spec.shortNames ? { shortNames: [...spec.shortNames] } : {}),
      },
      scope: spec.scope ?? 'Namespaced',
      versions: versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        subresources: { status: {} },
      })),
    },
  };
}

/** Istio's CRDs meshbridge reads and writes (networking.istio.io and security.istio.io, v1; v1beta1 and v1alpha3 served too as Istio does). */
export const ISTIO_CRDS: readonly JsonObject[] = [
  crd({ group: 'networking.istio.io', kind: 'ServiceEntry', plural: 'serviceentries', shortNames: ['se'], versions: ['v1', 'v1beta1', 'v1alpha3'] }),
  crd({ group: 'networking.istio.io', kind: 'WorkloadEntry', plural: 'workloadentries', shortNames: ['we'], versions: ['v1', 'v1beta1', 'v1alpha3'] }),
  crd({ group: 'networking.istio.io', kind: 'WorkloadGroup', plural: 'workloadgroups', shortNames: ['wg'], versions: ['v1', 'v1beta1', 'v1alpha3'] }),
  crd({ group: 'networking.istio.io', kind: 'DestinationRule', plural: 'destinationrules', shortNames: ['dr'], versions: ['v1', 'v1beta1', 'v1alpha3'] }),
  crd({ group: 'networking.istio.io', kind: 'VirtualService', plural: 'virtualservices', shortNames: ['vs'], versions: ['v1', 'v1beta1', 'v1alpha3'] }),
  crd({ group: 'networking.istio.io', kind: 'Sidecar', plural: 'sidecars', versions: ['v1', 'v1beta1', 'v1alpha3'] }),
  crd({ group: 'security.istio.io', kind: 'PeerAuthentication', plural: 'peerauthentications', shortNames: ['pa'], versions: ['v1', 'v1beta1'] }),
  crd({ group: 'security.istio.io', kind: 'AuthorizationPolicy', plural: 'authorizationpolicies', shortNames: ['ap'], versions: ['v1', 'v1beta1'] }),
];

/**
 * The fake on HTTPS with a fresh self-signed CA and a serving certificate for `localhost` (the
 * kubeconfig it writes carries the CA and `tls-server-name: localhost`): the way to test bearer tokens,
 * which kubectl and client-go send only over TLS.
 */
export async function startTlsFake(options: Omit<FakeKubeOptions, 'tls'> = {}): Promise<FakeKubeApiServer> {
  const { ca, files } = await CertificateAuthority.createSelfSigned('fake-kube.local');
  const cert = await ca.issueServerCertificate(['localhost'], 3600);
  return FakeKubeApiServer.start({ ...options, tls: { certChain: cert.certChain, keyPem: cert.keyPem, caPem: files.rootCert } });
}

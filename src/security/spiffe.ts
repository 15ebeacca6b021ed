/**
 * SPIFFE identities of the mesh (issue 11): `spiffe://<trust domain>/ns/<namespace>/sa/<service
 * account>` and nothing else. Each part must be a name Kubernetes (and Istio) would accept — the
 * trust domain RFC-1123 labels with dots, the namespace a DNS-1123 label, the service account a
 * DNS-1123 subdomain — so no part can hold a `/` and no identity can be read as another one
 * (`sa/x/ns/team-b/sa/sa-b` would otherwise match `namespaces: [team-b]`). Pure.
 */
import { isKubeDNS1123Label, isKubeDNS1123Subdomain, trustDomainProblem } from '../model/config/validation/names.js';

export interface SpiffeParts {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>` of an identity (the parts are not checked: see `parseSpiffeId`). */
export function spiffeId(identity: SpiffeParts): string {
  return `spiffe://${identity.trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}

/** Why `identity` is not exactly `spiffe://<td>/ns/<ns>/sa/<sa>` with valid parts; undefined when it is. */
export function spiffeIdProblem(identity: string): string | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(identity);
  if (!m) return `${identity} is not of the form spiffe://<trust domain>/ns/<namespace>/sa/<service account>`;
  const [, trustDomain = '', namespace = '', serviceAccount = ''] = m;
  if (trustDomainProblem(trustDomain) !== undefined) return `${identity}: the trust domain ${JSON.stringify(trustDomain)} is not a DNS name`;
  if (!isKubeDNS1123Label(namespace)) return `${identity}: the namespace ${JSON.stringify(namespace)} is not a Kubernetes namespace name (a DNS-1123 label)`;
  if (!isKubeDNS1123Subdomain(serviceAccount)) return `${identity}: the service account ${JSON.stringify(serviceAccount)} is not a Kubernetes service account name (a DNS-1123 subdomain)`;
  return undefined;
}

/** The parts of a well-formed identity (see `spiffeIdProblem`), else undefined. */
export function parseSpiffeId(identity: string): SpiffeParts | undefined {
  if (spiffeIdProblem(identity) !== undefined) return undefined;
  const [, trustDomain = '', namespace = '', serviceAccount = ''] = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(identity) ?? [];
  return { trustDomain, namespace, serviceAccount };
}

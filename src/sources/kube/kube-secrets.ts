/**
 * The values replicas share (signing key, CA: shared-secrets.ts) kept in Kubernetes Secrets of the
 * store's namespace (`kube://NAMESPACE`), as istiod keeps its self-signed root in `istio-ca-secret`:
 * created with POST (409 AlreadyExists: another replica came first, its value is read), replaced
 * with PUT at the resourceVersion read. The value is under the Secret's `data.value`.
 */
import { openSecret, type SecretsKeyring } from '../../security/secrets-at-rest.js';
import { parseStoredCa, type SharedSlot, type SlotRead } from '../shared-secrets.js';
import { KubeApiError, type KubeTransport } from './kube-transport.js';

export const SIGNING_KEY_SECRET = 'meshbridge-signing-key';
export const CA_SECRET = 'meshbridge-ca';

interface Secret {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
  [k: string]: unknown;
}

export function kubeSecretSlot(transport: KubeTransport, namespace: string, name: string): SharedSlot {
  const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const where = `the Secret ${namespace}/${name}`;
  return {
    where,
    async createOrRead(fresh: string): Promise<SlotRead> {
      const data = { value: Buffer.from(fresh).toString('base64') };
      try {
        await transport.json('POST', collection, {}, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'meshbridge' } }, type: 'Opaque', data });
        return { created: true };
      } catch (e) {
        if (!(e instanceof KubeApiError && e.status === 409)) throw e;
      }
      const cur = (await transport.json('GET', `${collection}/${name}`)) as Secret;
      const stored = cur.data?.value;
      if (stored === undefined) throw new Error(`${where} has no data.value`);
      return {
        created: false,
        value: Buffer.from(stored, 'base64').toString('utf8'),
        replace: async (value: string) => {
          await transport.json('PUT', `${collection}/${name}`, {}, { ...cur, data: { ...cur.data, value: Buffer.from(value).toString('base64') } });
        },
      };
    },
  };
}

/**
 * Read-only: the signing key and the mesh root the replicas keep in Secrets of `namespace`, for
 * `workload entry configure --store kube://...`; undefined when no replica has started yet.
 */
export async function readKubeOnboarding(transport: KubeTransport, namespace: string, secrets?: SecretsKeyring): Promise<{ signingKey: Buffer; rootCert: string } | undefined> {
  const read = async (name: string): Promise<string | undefined> => {
    try {
      const s = (await transport.json('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${name}`)) as Secret;
      return s.data?.value === undefined ? undefined : Buffer.from(s.data.value, 'base64').toString('utf8');
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  };
  const [storedKey, storedCa] = await Promise.all([read(SIGNING_KEY_SECRET), read(CA_SECRET)]);
  if (storedKey === undefined || storedCa === undefined) return undefined;
  const signingKey = Buffer.from(openSecret(storedKey, 'signing-key', `the token signing key in the Secret ${namespace}/${SIGNING_KEY_SECRET}`, secrets).plaintext, 'hex');
  return { signingKey, rootCert: parseStoredCa(storedCa, `the Secret ${namespace}/${CA_SECRET}`).rootCert };
}

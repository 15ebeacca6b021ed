/**
 * The `--store URL` of `serve` and of every command that reads or writes a store (cli-contract
 * "Store commands"), parsed in one place:
 *
 *   file://DIR              the file store on folder DIR (`file://` alone: the current folder)
 *   DIR                     a bare path (no scheme): the same folder
 *   etcd://... etcds://...  an etcd store (etcd-url.ts; the `--etcd-*` flags override the URL's options)
 *   kube://[NAMESPACE]      the Kubernetes cluster of `--kubeconfig PATH [--context NAME]`, or the one
 *                           the process runs in: Istio's resources as CRDs; NAMESPACE (default
 *                           istio-system) holds meshbridge's Leases and Secrets
 *
 * Any other scheme is refused with a StoreUrlError naming the URL and the forms above.
 */
import { StoreUrlError } from '../model/config/store.js';
import { parseEtcdTarget, type EtcdSecurityFlags, type EtcdTarget } from './etcd/etcd-url.js';

/** The environment variable naming the store of commands given no `--store` (cli-contract). */
export const STORE_ENV = 'MESHBRIDGE_STORE';

/** The store forms, as error messages name them. */
export const STORE_URL_FORMS = 'file://DIR or etcd://HOST:PORT[,HOST:PORT...]';

/** Where a `kube://` store's cluster is: the kubeconfig flags (none: in-cluster). */
export interface KubeConnectionFlags {
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** The flags that complete a store URL: `--etcd-*` for etcd, `--kubeconfig`/`--context` for kube. */
export type StoreFlags = EtcdSecurityFlags & KubeConnectionFlags;

/** The namespace of meshbridge's Leases and Secrets when `kube://` names none (istiod's). */
export const DEFAULT_KUBE_NAMESPACE = 'istio-system';

export type StoreLocation =
  | { readonly kind: 'etcd'; readonly target: EtcdTarget }
  | { readonly kind: 'kube'; readonly namespace: string; readonly connection: KubeConnectionFlags }
  | {
      readonly kind: 'file';
      /** The folder (`.` for `file://` alone). */
      readonly folder: string;
      /** What followed `file://` ('' for `file://` alone), or the bare path. */
      readonly written: string;
      /** `url`: written as `file://...`; `path`: a bare path. */
      readonly form: 'url' | 'path';
    };

/** Throws StoreUrlError for an unknown scheme or a malformed etcd URL. */
export function parseStoreUrl(url: string, etcd?: StoreFlags): StoreLocation {
  const location = readStoreUrl(url, etcd);
  if (location === undefined) throw new StoreUrlError(`unsupported store ${url}: use ${STORE_URL_FORMS}`);
  return location;
}

/** The same, undefined for an unknown scheme (for a caller that words that refusal itself). */
export function readStoreUrl(url: string, etcd?: StoreFlags): StoreLocation | undefined {
  const target = parseEtcdTarget(url, etcd);
  if (target !== undefined) return { kind: 'etcd', target };
  if (url.startsWith('kube://')) {
    const namespace = url.slice('kube://'.length).replace(/\/+$/, '');
    if (namespace !== '' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new StoreUrlError(`${url}: "${namespace}" is not a namespace name (kube://[NAMESPACE])`);
    const connection = { ...(etcd?.kubeconfig !== undefined ? { kubeconfig: etcd.kubeconfig } : {}), ...(etcd?.context !== undefined ? { context: etcd.context } : {}) };
    return { kind: 'kube', namespace: namespace || DEFAULT_KUBE_NAMESPACE, connection };
  }
  if (url.startsWith('file://')) {
    const written = url.slice('file://'.length);
    return { kind: 'file', folder: written || '.', written, form: 'url' };
  }
  if (url.includes('://')) return undefined;
  return { kind: 'file', folder: url, written: url, form: 'path' };
}

/** The store of a command: `--store`, else $MESHBRIDGE_STORE, else the current folder. */
export function storeUrlOrDefault(url: string | undefined): string {
  return url ?? process.env[STORE_ENV] ?? 'file://.';
}

/**
 * The store a CLI command talks to (`--store URL`, cli-contract "Store commands", parsed by
 * sources/store-url.ts): the file store (the folder and its state directory, read as `serve` would)
 * or etcd (through the retry decorator, with a short deadline: a command should fail in seconds, not
 * hang). The store implementations are loaded when a command opens one (the etcd client brings gRPC).
 */
import type { ConfigStore } from '../model/config/store.js';
import { etcdClientSecurity } from '../sources/etcd/etcd-url.js';
import { parseStoreUrl, type StoreFlags } from '../sources/store-url.js';
import { UsageError } from './output.js';
export { StoreUnreachable } from './errors.js';

export interface CliStore {
  readonly store: ConfigStore;
  readonly kind: 'file' | 'etcd' | 'kube';
  /** The folder of a file store. */
  readonly folder?: string;
  close(): Promise<void>;
}

/**
 * `etcd` is the `--etcd-*` flags (TLS, user and password), applied to an etcd URL, and the
 * `--kubeconfig`/`--context` of a `kube://` URL; `watchFolder`: a file store keeps watching its
 * folder (`get -w`); etcd and kube stores always can watch.
 */
export async function openCliStore(url: string, stateDir?: string, etcd?: StoreFlags, watchFolder = false): Promise<CliStore> {
  const location = parseStoreUrl(url, etcd);
  if (location.kind === 'kube') {
    const [{ connectCluster }, { KubeStore }] = await Promise.all([import('../sources/kube/cluster-source.js'), import('../sources/kube/kube-store.js')]);
    let transport;
    try {
      transport = connectCluster(location.connection);
    } catch (e) {
      throw new UsageError(`--store ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const store = new KubeStore(transport, { description: `kube://${location.namespace} on ${transport.connection.server}`, syncTimeoutMs: 6000 });
    return { store, kind: 'kube', close: () => store.close() };
  }
  if (location.kind === 'etcd') {
    const target = location.target;
    const [{ createEtcdClient }, { EtcdStore }, { RetryingStore }] = await Promise.all([
      import('../sources/etcd/etcd-client.js'),
      import('../sources/etcd/etcd-store.js'),
      import('../sources/etcd/retrying-store.js'),
    ]);
    const client = createEtcdClient({ endpoints: target.endpoints, requestTimeoutMs: 3000, security: etcdClientSecurity(target) });
    const store = new RetryingStore(new EtcdStore(client, { description: target.description }), { deadlineMs: 6000 });
    return { store, kind: 'etcd', close: () => store.close() };
  }
  const folder = location.folder;
  const [{ FileStore }, { defaultStateDir }] = await Promise.all([import('../sources/file/file-store.js'), import('../sources/file/state-dir.js')]);
  const files = new FileStore({ paths: [folder], stateDir: stateDir ?? defaultStateDir([folder]), readOnly: true });
  await files.start(watchFolder ? 50 : undefined);
  return {
    store: files,
    kind: 'file',
    folder,
    close: () => files.close(),
  };
}

/** Refuses writes to a file store: its state directory belongs to the `serve` process using it. */
export function requireSharedStore(s: CliStore, command: string): void {
  if (s.kind === 'file') {
    throw new UsageError(
      `${command} needs a shared store: the file store's configuration is the YAML in ${s.folder ?? 'the folder'} (edit it there; serve picks up changes), and its state directory is written only by the serve process that owns it. Use --store etcd://HOST:PORT`,
    );
  }
}

/**
 * The store a CLI command talks to (`--store URL`, cli-contract "Store commands"): the file store
 * (the folder and its state directory, read as `serve` would) or etcd (through the retry
 * decorator, with a short deadline: a command should fail in seconds, not hang).
 */
import type { ConfigStore } from '../model/config/store.js';
import { createEtcdClient } from '../sources/etcd/etcd-client.js';
import { etcdClientSecurity, parseEtcdTarget, type EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import { EtcdStore } from '../sources/etcd/etcd-store.js';
import { RetryingStore } from '../sources/etcd/retrying-store.js';
import { FileStore } from '../sources/file/file-store.js';
import { defaultStateDir } from '../sources/file/state-dir.js';
import { fileStoreFolder } from '../app/store-backend.js';
import { UsageError } from './output.js';
export { StoreUnreachable } from './errors.js';

export interface CliStore {
  readonly store: ConfigStore;
  readonly kind: 'file' | 'etcd';
  /** The folder of a file store. */
  readonly folder?: string;
  close(): Promise<void>;
}

/**
 * `etcd` is the `--etcd-*` flags (TLS, user and password), applied to an etcd URL; `watchFolder`: a
 * file store keeps watching its folder (`get -w`); etcd stores always can watch.
 */
export async function openCliStore(url: string, stateDir?: string, etcd?: EtcdSecurityFlags, watchFolder = false): Promise<CliStore> {
  const target = parseEtcdTarget(url, etcd);
  if (target) {
    const client = createEtcdClient({ endpoints: target.endpoints, requestTimeoutMs: 3000, security: etcdClientSecurity(target) });
    const store = new RetryingStore(new EtcdStore(client, { description: target.description }), { deadlineMs: 6000 });
    return { store, kind: 'etcd', close: () => store.close() };
  }
  const folder = fileStoreFolder(url);
  if (folder === undefined) throw new UsageError(`unsupported store ${url}: use file://DIR or etcd://HOST:PORT[,HOST:PORT...]`);
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

/**
 * Chooses the store of a process from `--store URL` (cli-contract "Store commands"):
 * `file://DIR` (or no URL: the config folders given to `serve`) → the file store with its state
 * directory, one process, `LocalCoordination`; `etcd://h:p[,h:p...]` → the etcd store behind the
 * retry decorator, with replica coordination (sessions, leader election) on the same etcd.
 * Construct, then `start()` (no I/O before).
 */
import type { Logger } from '../lib/log/logger.js';
import { LocalCoordination, type Coordination } from '../lifecycle/coordination.js';
import { newSigningKey } from '../lifecycle/registration-token.js';
import { StoreUrlError, type ConfigStore } from '../model/config/store.js';
import { createEtcdClient } from '../sources/etcd/etcd-client.js';
import { etcdClientSecurity, parseEtcdTarget, type EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import type { CaFiles } from '../security/ca.js';
import { SECRETS_KEY_ENV, SecretsKeyError, type SecretsKeyring } from '../security/secrets-at-rest.js';
import { EtcdCoordination, sharedCaFiles, sharedSigningKey } from '../sources/etcd/etcd-coordination.js';
import { EtcdStore } from '../sources/etcd/etcd-store.js';
import { RetryingStore } from '../sources/etcd/retrying-store.js';
import { FileStore } from '../sources/file/file-store.js';
import { defaultStateDir, loadOrCreateSigningKey } from '../sources/file/state-dir.js';
import { acquireStateLock, type StateLock } from '../sources/file/state-lock.js';

export interface StoreBackend {
  readonly store: ConfigStore;
  readonly coordination: Coordination;
  /** The file store when that is the store (its folder reports, its state directory). */
  readonly files?: FileStore;
  readonly stateDir?: string;
  /**
   * A store shared by replicas (etcd) keeps the CA: stores `fresh` unless a CA is stored already
   * (atomically) and resolves to the stored one. Absent: the CA lives in the state directory.
   */
  readonly sharedCa?: (fresh: CaFiles) => Promise<CaFiles>;
  /**
   * Takes the store's exclusive lock for this process, when it has one (file store: the state
   * directory's lock; throws StateDirLocked while another live serve holds it). No other I/O.
   */
  lock(): void;
  /** Releases the lock taken by `lock` (nothing when none). */
  unlock(): void;
  /** Opens the store; resolves to the registration-token signing key shared by every replica. */
  start(): Promise<Buffer>;
  stop(): Promise<void>;
}

export interface BackendOptions {
  /** `file://DIR` or `etcd://...`; undefined: the file store on `configPaths`. */
  readonly store?: string;
  /** `--etcd-*` flags: TLS and user/password for an etcd store (override the URL's options). */
  readonly etcd?: EtcdSecurityFlags;
  readonly configPaths: readonly string[];
  readonly stateDir?: string;
  readonly instance: string;
  readonly sessionTtlSeconds?: number;
  readonly watchDebounceMs?: number;
  readonly log: Logger;
  /** Seals the CA key and the signing key at rest (secrets-at-rest.ts); absent: plaintext, with one warning. */
  readonly secrets?: SecretsKeyring;
}

/** The folder of a `file://` URL (a bare path is a folder too). */
export function fileStoreFolder(url: string): string | undefined {
  if (url.startsWith('file://')) return url.slice('file://'.length) || '.';
  return url.includes('://') ? undefined : url;
}

export function openStoreBackend(o: BackendOptions): StoreBackend {
  const url = o.store;
  const target = url !== undefined ? parseEtcdTarget(url, o.etcd) : undefined;
  if (target) {
    const store = new EtcdStore(createEtcdClient({ endpoints: target.endpoints, security: etcdClientSecurity(target) }), { description: target.description });
    const coordination = new EtcdCoordination(store.client, { instance: o.instance, ...(o.sessionTtlSeconds !== undefined ? { ttlSeconds: o.sessionTtlSeconds } : {}), log: o.log });
    const retrying = new RetryingStore(store, { onRetry: (what, attempt, reason) => attempt === 1 && o.log.warn(`etcd ${what} failed; retrying`, { reason }) });
    return {
      store: retrying,
      coordination,
      lock: () => undefined, // replicas share etcd by design: coordination.ts
      unlock: () => undefined,
      async sharedCa(fresh) {
        for (let attempt = 0; ; attempt++) {
          try {
            return await sharedCaFiles(store.client, undefined, fresh, o.secrets);
          } catch (e) {
            if (attempt >= 20 || e instanceof SecretsKeyError) throw e;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      },
      async start() {
        await coordination.start(); // waits for etcd
        warnUnsealed(o, 'etcd');
        for (let attempt = 0; ; attempt++) {
          try {
            return await sharedSigningKey(store.client, undefined, newSigningKey, o.secrets);
          } catch (e) {
            if (attempt >= 20 || e instanceof SecretsKeyError) throw e;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
      },
      async stop() {
        await coordination.stop();
        await retrying.close();
      },
    };
  }
  if (url !== undefined && fileStoreFolder(url) === undefined) throw new StoreUrlError(`unsupported store ${url}: use file://DIR or etcd://HOST:PORT[,HOST:PORT...]`);
  const paths = url !== undefined ? [fileStoreFolder(url) ?? '.'] : o.configPaths;
  const stateDir = o.stateDir ?? defaultStateDir(paths);
  const files = new FileStore({
    paths,
    stateDir,
    onError: (e) => o.log.error('watching the configuration failed', { error: e instanceof Error ? e.message : String(e) }),
  });
  let held: StateLock | undefined;
  return {
    store: files,
    coordination: new LocalCoordination(o.instance),
    files,
    stateDir,
    lock() {
      held ??= acquireStateLock(stateDir, o.instance);
    },
    unlock() {
      held?.release();
      held = undefined;
    },
    async start() {
      await files.start(o.watchDebounceMs ?? 50);
      warnUnsealed(o, `the state directory ${stateDir}`);
      return loadOrCreateSigningKey(stateDir, o.secrets);
    },
    stop: () => files.close(),
  };
}

/** Without a key ring the control plane's keys are stored as they are: said once, at start. */
function warnUnsealed(o: BackendOptions, where: string): void {
  if (o.secrets !== undefined) return;
  o.log.warn(
    `the CA key and the registration-token signing key are stored unencrypted in ${where}: ` +
      `give serve --secrets-key-file FILE (or ${SECRETS_KEY_ENV}) to encrypt them at rest (docs/security.md)`,
  );
}

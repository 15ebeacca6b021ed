/**
 * Chooses the store of a process from `--store URL` (cli-contract "Store commands",
 * sources/store-url.ts): `file://DIR` (or no URL: the config folders given to `serve`) → the file
 * store with its state directory, one process, `LocalCoordination`; `etcd://h:p[,h:p...]` → the etcd
 * store behind the retry decorator, with replica coordination (sessions, leader election) on the
 * same etcd; `kube://[NAMESPACE]` → the cluster's Istio CRDs, Lease election and Secrets in
 * NAMESPACE (sources/kube). Construct, then `start()` (no I/O before).
 */
import { LocalCoordination, type Coordination } from '../lifecycle/coordination.js';
import { newSigningKey } from '../security/registration-token.js';
import type { ConfigStore } from '../model/config/store.js';
import { createEtcdClient } from '../sources/etcd/etcd-client.js';
import { etcdClientSecurity } from '../sources/etcd/etcd-url.js';
import { loadOrCreateCa, loadOrCreateSharedCa, type CaFiles, type CertificateAuthority } from '../security/ca.js';
import { SECRETS_KEY_ENV, SecretsKeyError } from '../security/secrets-at-rest.js';
import { EtcdCoordination, sharedCaFiles, sharedSigningKey } from '../sources/etcd/etcd-coordination.js';
import { EtcdStore } from '../sources/etcd/etcd-store.js';
import { RetryingStore } from '../sources/etcd/retrying-store.js';
import { FileStore } from '../sources/file/file-store.js';
import { defaultStateDir, loadOrCreateSigningKey } from '../sources/file/state-dir.js';
import { acquireStateLock, type StateLock } from '../sources/file/state-lock.js';
import { parseStoreUrl } from '../sources/store-url.js';
import { connectCluster } from '../sources/kube/cluster-source.js';
import { KubeStore } from '../sources/kube/kube-store.js';
import { LeaseCoordination } from '../sources/kube/lease-election.js';
import { CA_SECRET, kubeSecretSlot, SIGNING_KEY_SECRET } from '../sources/kube/kube-secrets.js';
import { sharedCaFilesIn, sharedSigningKeyIn } from '../sources/shared-secrets.js';
import type { ServeSettings } from './serve-settings.js';
import { errorMessage } from '../lib/errors.js';

export interface StoreBackend {
  readonly store: ConfigStore;
  readonly coordination: Coordination;
  /** The file store when that is the store (its folder reports, its state directory). */
  readonly files?: FileStore;
  readonly stateDir?: string;
  /**
   * Loads (or creates) the CA (issue 7): the file store's lives in its state directory; with etcd
   * in etcd, shared by every replica (the first creates it); an operator's cacerts folder takes
   * precedence (`cacertsDir`). After `start`.
   */
  loadCa(trustDomain: string): Promise<CertificateAuthority>;
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

/** What the process adds to its settings: its instance name. */
export interface BackendRun {
  readonly instance: string;
}

export function openStoreBackend(o: ServeSettings, run: BackendRun): StoreBackend {
  const location = o.store !== undefined ? parseStoreUrl(o.store, o.etcd) : undefined;
  const target = location?.kind === 'etcd' ? location.target : undefined;
  if (target) {
    const store = new EtcdStore(createEtcdClient({ endpoints: target.endpoints, security: etcdClientSecurity(target) }), { description: target.description });
    const coordination = new EtcdCoordination(store.client, { instance: run.instance, ...(o.sessionTtlSeconds !== undefined ? { ttlSeconds: o.sessionTtlSeconds } : {}), log: o.logger });
    const retrying = new RetryingStore(store, { onRetry: (what, attempt, reason) => attempt === 1 && o.logger.warn(`etcd ${what} failed; retrying`, { reason }) });
    return {
      store: retrying,
      coordination,
      lock: () => undefined, // replicas share etcd by design: coordination.ts
      unlock: () => undefined,
      loadCa: (trustDomain) => loadOrCreateSharedCa(trustDomain, (fresh: CaFiles) => retriedWhileStarting(() => sharedCaFiles(store.client, undefined, fresh, o.secrets)), o.cacertsDir),
      async start() {
        await coordination.start(); // waits for etcd
        warnUnsealed(o, 'etcd');
        return retriedWhileStarting(() => sharedSigningKey(store.client, undefined, newSigningKey, o.secrets));
      },
      async stop() {
        await coordination.stop();
        await retrying.close();
      },
    };
  }
  if (location?.kind === 'kube') {
    // The cluster is the store (sources/kube/kube-store.ts); replicas elect a leader with a Lease.
    const transport = connectCluster(location.connection);
    const namespace = location.namespace;
    const coordination = new LeaseCoordination(transport, { instance: run.instance, namespace, ...(o.sessionTtlSeconds !== undefined ? { leaseDurationSeconds: o.sessionTtlSeconds } : {}), log: o.logger });
    const store = new KubeStore(transport, {
      description: `kube://${namespace} on ${transport.connection.server}`,
      ...(o.kube?.syncTimeoutMs !== undefined ? { syncTimeoutMs: o.kube.syncTimeoutMs } : {}),
      controls: (controller) => coordination.knows(controller),
      fenceHolds: (fence) => coordination.fenceHolds(fence),
      log: o.logger,
    });
    return {
      store,
      coordination,
      lock: () => undefined, // replicas share the cluster by design: lease-election.ts
      unlock: () => undefined,
      loadCa: (trustDomain) => loadOrCreateSharedCa(trustDomain, (fresh: CaFiles) => retriedWhileStarting(() => sharedCaFilesIn(kubeSecretSlot(transport, namespace, CA_SECRET), fresh, o.secrets)), o.cacertsDir),
      async start() {
        store.start();
        await coordination.start(); // waits for the API server
        warnUnsealed(o, `the Secrets of namespace ${namespace}`);
        return retriedWhileStarting(() => sharedSigningKeyIn(kubeSecretSlot(transport, namespace, SIGNING_KEY_SECRET), newSigningKey, o.secrets));
      },
      async stop() {
        await coordination.stop();
        await store.close();
      },
    };
  }
  const paths = location?.kind === 'file' ? [location.folder] : (o.configPaths ?? []);
  const stateDir = o.stateDir ?? defaultStateDir(paths);
  const files = new FileStore({
    paths,
    stateDir,
    onError: (e) => o.logger.error('watching the configuration failed', { error: errorMessage(e) }),
  });
  let held: StateLock | undefined;
  return {
    store: files,
    coordination: new LocalCoordination(run.instance),
    files,
    stateDir,
    lock() {
      held ??= acquireStateLock(stateDir, run.instance);
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
    loadCa: (trustDomain) => loadOrCreateCa(stateDir, trustDomain, o.cacertsDir, o.secrets),
    stop: () => files.close(),
  };
}

/**
 * A read-or-create of what replicas share (signing key, CA) while etcd may still be starting:
 * retried 20 times, 250 ms apart; a secrets key that opens nothing is final.
 */
async function retriedWhileStarting<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (attempt >= 20 || e instanceof SecretsKeyError) throw e;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Without a key ring the control plane's keys are stored as they are: said once, at start. */
function warnUnsealed(o: ServeSettings, where: string): void {
  if (o.secrets !== undefined) return;
  o.logger.warn(
    `the CA key and the registration-token signing key are stored unencrypted in ${where}: ` +
      `give serve --secrets-key-file FILE (or ${SECRETS_KEY_ENV}) to encrypt them at rest (docs/security.md)`,
  );
}

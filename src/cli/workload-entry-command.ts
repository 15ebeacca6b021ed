/**
 * `meshbridge workload entry configure -f GROUP.yaml -o DIR --control-plane HOST:PORT
 * [--store URL | --state-dir DIR] [--token-ttl DURATION] [--ip IP]` (cli-contract.md, VM onboarding; I-2), the
 * store a folder (`file://`) or etcd (`etcd://`, `etcds://`, issue 16):
 * validates the group file, then writes the agent's bootstrap folder (agent-protocol.md §1):
 * `meshbridge-agent.json`, `registration-token` (0600, signed with the key in the store's state
 * directory), `root-cert.pem` (the mesh root from the CA in the state directory or `--cacerts`: the
 * agent verifies the control plane's secure port with it), `cluster.env` and `mesh.yaml`; with `--ip`
 * also `envoy-bootstrap.yaml` for a sidecar Envoy on that VM (the agent rewrites it at start with its
 * bound addresses, so without `--ip` the agent alone writes it). Prints
 * nothing secret. `--control-plane` is the secure xDS address (serve `--secure-xds-address`), or
 * a comma-separated list of replicas' addresses (the agent fails over between them).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { ENVOY_BOOTSTRAP_FILE, loadOrCreateLocalSecret, SETTINGS_FILE, TOKEN_FILE, workloadEntryName, writeFileAtomic } from '../agent/bootstrap.js';
import { SDS_SOCKET_FILE } from '../agent/sds-server.js';
import { DEFAULT_XDS_PROXY_ADDRESS } from '../agent/xds-proxy.js';
import { parseLocality } from '../model/mesh/locality.js';
import { makePrivateDir } from '../lib/fs/modes.js';
import { loadSecretsKeyring, SecretsKeyError, type SecretsKeyring } from '../security/secrets-at-rest.js';
import { createEtcdClient } from '../sources/etcd/etcd-client.js';
import { readSharedOnboarding } from '../sources/etcd/etcd-coordination.js';
import { EtcdStore } from '../sources/etcd/etcd-store.js';
import { etcdClientSecurity, type EtcdTarget } from '../sources/etcd/etcd-url.js';
import { readStoreUrl, STORE_URL_FORMS, type StoreFlags, type StoreLocation } from '../sources/store-url.js';
import { StoreUnreachable } from './errors.js';
import { ROOT_CERT_FILE } from '../agent/upstream.js';
import { parseControlPlane } from '../agent/control-plane-targets.js';
import { loadOrCreateCa } from '../security/ca.js';
import { agentSettingsFor, clusterEnv, meshYaml, type MeshValues } from '../agent/vm-config.js';
import { newTokenId, signToken } from '../security/registration-token.js';
import { formatFinding } from '../model/config/format-finding.js';
import { loadConfig } from '../model/config/load.js';
import type { MeshConfig, WorkloadGroup } from '../model/config/types.js';
import { parseDurationSeconds } from './durations.js';
import { ConfigReadError, readConfigFiles } from '../sources/file/read-files.js';
import { defaultStateDir, loadOrCreateSigningKey } from '../sources/file/state-dir.js';
import { UsageError } from './output.js';
import { errorMessage } from '../lib/errors.js';

export interface EntryConfigureOptions {
  readonly file?: string;
  readonly output?: string;
  readonly controlPlane?: string;
  /** Explicit `--store` (the config folder of `serve`); default `file://.`. */
  readonly store?: string;
  readonly stateDir?: string;
  /** The operator's cacerts folder when serve uses one (`serve --cacerts`): its root-cert.pem is the mesh root. */
  readonly cacerts?: string;
  readonly tokenTtl: string;
  /** `--secrets-key-file` (else $MESHBRIDGE_SECRETS_KEY): opens the keys serve sealed in the state directory. */
  readonly secretsKeyFile?: string;
  /** `--etcd-*` flags for an etcd store. */
  readonly etcd?: StoreFlags;
  /** The VM's IP (`--ip`): also write `envoy-bootstrap.yaml` for that VM (the agent rewrites it at start). */
  readonly ip?: string;
}

export async function runWorkloadEntryConfigure(o: EntryConfigureOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream, now = Date.now()): Promise<number> {
  if (o.file === undefined) throw new UsageError('expecting a WorkloadGroup artifact file (-f GROUP.yaml)');
  if (o.output === undefined) throw new UsageError('expecting an output directory (-o DIR)');
  if (o.controlPlane === undefined) throw new UsageError('expecting the control plane address (--control-plane HOST:PORT)');
  const controlPlaneProblem = parseControlPlane(o.controlPlane);
  if (typeof controlPlaneProblem === 'string') throw new UsageError(`--control-plane ${controlPlaneProblem}`);
  if (o.ip !== undefined && isIP(o.ip) === 0) throw new UsageError(`--ip must be an IP address, not ${JSON.stringify(o.ip)}`);
  const ttlSeconds = parseTtl(o.tokenTtl);
  const location = o.store !== undefined ? readStoreUrl(o.store, o.etcd) : undefined;
  const etcdTarget = location?.kind === 'etcd' ? location.target : undefined;
  if (etcdTarget !== undefined && o.stateDir !== undefined) throw new UsageError('--state-dir is for a file store: an etcd store keeps the signing key itself');
  const kube = location?.kind === 'kube' ? location : undefined;
  if (kube !== undefined && o.stateDir !== undefined) throw new UsageError('--state-dir is for a file store: a kube:// store keeps the signing key in a Secret');
  const storeDir = etcdTarget !== undefined || kube !== undefined || o.store === undefined ? resolve('.') : fileStoreDir(o.store, location);

  // The group file first: invalid input is exit 1 with positioned findings (as `validate`).
  const files = await readConfigFiles([o.file]);
  const loaded = loadConfig(files);
  const errors = loaded.findings.filter((f) => f.severity === 'error');
  for (const f of loaded.findings) err.write(`${formatFinding(f, f.severity)}\n`);
  if (errors.length > 0) {
    err.write(`meshbridge: ${o.file} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}); nothing written\n`);
    return 1;
  }
  const groups = loaded.objects.filter((x): x is WorkloadGroup => x.kind === 'WorkloadGroup');
  if (groups.length !== 1) {
    err.write(`meshbridge: ${o.file} must hold exactly one WorkloadGroup, not ${groups.length}\n`);
    return 1;
  }
  const group = groups[0] as WorkloadGroup;

  // meshbridge's MeshConfig (trust domain, cluster id) from an explicitly named store only: the
  // default store (the current folder) is not scanned.
  const secrets = loadSecretsKeyring(o.secretsKeyFile);
  let key: Buffer;
  let rootCert: string;
  let mesh: MeshValues;
  if (etcdTarget !== undefined) {
    ({ key, rootCert, mesh } = await fromEtcd(etcdTarget, o.controlPlane, o.cacerts, secrets));
  } else if (kube !== undefined) {
    ({ key, rootCert, mesh } = await fromKube(kube, o.controlPlane, o.cacerts, secrets));
  } else {
    const meshSpec = o.store !== undefined ? await meshConfigOf(storeDir) : undefined;
    mesh = { controlPlane: o.controlPlane, trustDomain: meshSpec?.trustDomain || 'cluster.local', clusterId: meshSpec?.clusterId || 'Kubernetes' };
    const stateDir = o.stateDir !== undefined ? resolve(o.stateDir) : defaultStateDir([storeDir]);
    try {
      key = loadOrCreateSigningKey(stateDir, secrets);
    } catch (e) {
      if (e instanceof SecretsKeyError) throw e;
      throw new ConfigReadError(`cannot use the state directory ${stateDir}: ${errorMessage(e)}`);
    }
    // The mesh root the agent verifies the control plane with (the CA's, as serve loads it).
    try {
      rootCert = (await loadOrCreateCa(stateDir, mesh.trustDomain, o.cacerts, secrets)).rootPem;
    } catch (e) {
      if (e instanceof SecretsKeyError) throw e;
      throw new ConfigReadError(`cannot load the mesh's certificate authority from ${o.cacerts ?? join(stateDir, 'ca')}: ${errorMessage(e)}`);
    }
  }
  const settings = agentSettingsFor(group, mesh);
  const issuedAt = Math.floor(now / 1000);
  const expiresAt = issuedAt + ttlSeconds;
  const tokenId = newTokenId();
  const token = signToken({ namespace: settings.namespace, group: settings.group, serviceAccount: settings.serviceAccount, issuedAt, expiresAt, id: tokenId }, key);

  const dir = o.output;
  try {
    // Modes whatever the umask: the folder (made here) 0700, the token 0600; the rest is public but
    // must not be writable by others (lib/fs/modes.ts).
    makePrivateDir(dir);
    writeFileAtomic(join(dir, TOKEN_FILE), `${token}\n`, 0o600);
    writeFileAtomic(join(dir, SETTINGS_FILE), `${JSON.stringify(settings, null, 2)}\n`, 0o644);
    writeFileAtomic(join(dir, ROOT_CERT_FILE), rootCert, 0o644);
    writeFileAtomic(join(dir, 'cluster.env'), clusterEnv(group, mesh), 0o644);
    writeFileAtomic(join(dir, 'mesh.yaml'), meshYaml(group, mesh), 0o644);
    if (o.ip !== undefined) {
      // The agent's default local addresses: its xDS proxy, its SDS socket in the folder, its local
      // secret. Loaded on demand: Envoy's types take seconds to load.
      const { writeEnvoyBootstrap } = await import('../agent/envoy-bootstrap.js');
      writeEnvoyBootstrap(dir, settings, o.ip, workloadEntryName(settings.group, o.ip, settings.network), parseLocality(settings.locality), {
        xdsProxy: DEFAULT_XDS_PROXY_ADDRESS,
        sdsAddress: join(resolve(dir), SDS_SOCKET_FILE),
        localSecret: loadOrCreateLocalSecret(dir),
      });
    }
  } catch (e) {
    throw new ConfigReadError(`cannot write into ${dir}: ${errorMessage(e)}`);
  }
  const envoyFile = o.ip !== undefined ? `, ${ENVOY_BOOTSTRAP_FILE}` : '';
  out.write(
    `Configuration for WorkloadGroup ${settings.namespace}/${settings.group} written to ${dir} (${SETTINGS_FILE}, ${TOKEN_FILE}, ${ROOT_CERT_FILE}, cluster.env, mesh.yaml${envoyFile}); ` +
      `the registration token expires at ${new Date(expiresAt * 1000).toISOString()} (token id ${tokenId}: revoke with \`meshbridge workload entry revoke ${tokenId} --group ${settings.group} -n ${settings.namespace}\`)\n`,
  );
  return 0;
}

/**
 * An etcd store (issue 16): the MeshConfig, the signing key and the mesh root that the replicas keep
 * there, read with the same TLS and password options as serve. The store must have served once (the
 * first replica creates the key and the CA); `--cacerts` still names the root when serve uses one.
 */
async function fromEtcd(target: EtcdTarget, controlPlane: string, cacerts: string | undefined, secrets: SecretsKeyring | undefined): Promise<{ key: Buffer; rootCert: string; mesh: MeshValues }> {
  const client = createEtcdClient({ endpoints: target.endpoints, requestTimeoutMs: 5000, security: etcdClientSecurity(target) });
  try {
    let shared;
    let meshSpec: MeshConfig['spec'] | undefined;
    try {
      shared = await readSharedOnboarding(client, undefined, secrets);
      meshSpec = (await new EtcdStore(client, { description: target.description }).list()).objects.find((x): x is MeshConfig => x.kind === 'MeshConfig')?.spec;
    } catch (e) {
      if (e instanceof SecretsKeyError) throw e;
      throw new StoreUnreachable(`cannot read the onboarding keys from ${target.description}: ${errorMessage(e)}`);
    }
    if (shared === undefined) throw new ConfigReadError(`${target.description} holds no signing key or CA yet: start serve on this store first (the first replica creates them)`);
    const rootCert = cacerts !== undefined ? readFileSync(join(cacerts, 'root-cert.pem'), 'utf8') : shared.rootCert;
    return { key: shared.signingKey, rootCert, mesh: { controlPlane, trustDomain: meshSpec?.trustDomain || 'cluster.local', clusterId: meshSpec?.clusterId || 'Kubernetes' } };
  } finally {
    client.close();
  }
}

/**
 * A `kube://NAMESPACE` store: the signing key and the mesh root the replicas keep in Secrets of
 * NAMESPACE (sources/kube/kube-secrets.ts); the trust domain is Istio's default (no MeshConfig is
 * read from a cluster).
 */
async function fromKube(location: Extract<StoreLocation, { kind: 'kube' }>, controlPlane: string, cacerts: string | undefined, secrets: SecretsKeyring | undefined): Promise<{ key: Buffer; rootCert: string; mesh: MeshValues }> {
  const [{ connectCluster }, { readKubeOnboarding }] = await Promise.all([import('../sources/kube/cluster-source.js'), import('../sources/kube/kube-secrets.js')]);
  const transport = connectCluster(location.connection);
  let shared;
  try {
    shared = await readKubeOnboarding(transport, location.namespace, secrets);
  } catch (e) {
    if (e instanceof SecretsKeyError) throw e;
    throw new StoreUnreachable(`cannot read the onboarding keys from kube://${location.namespace} on ${transport.connection.server}: ${errorMessage(e)}`);
  }
  if (shared === undefined) throw new ConfigReadError(`kube://${location.namespace} on ${transport.connection.server} holds no signing key or CA yet: start serve on this store first (the first replica creates them)`);
  const rootCert = cacerts !== undefined ? readFileSync(join(cacerts, 'root-cert.pem'), 'utf8') : shared.rootCert;
  return { key: shared.signingKey, rootCert, mesh: { controlPlane, trustDomain: 'cluster.local', clusterId: 'Kubernetes' } };
}

/** `file://DIR` (relative or absolute) -> DIR; this command takes no bare path and no `file://` alone. */
function fileStoreDir(url: string, location: StoreLocation | undefined): string {
  if (location?.kind !== 'file' || location.form !== 'url') throw new UsageError(`--store must be ${STORE_URL_FORMS}, not ${JSON.stringify(url)}`);
  const rest = location.written;
  if (rest === '') throw new UsageError('--store file:// needs a folder');
  return rest.startsWith('/') ? fileURLToPath(`file://${rest}`) : resolve(rest);
}

/** A Go duration of at least one second; whole seconds (the token's times are in seconds). */
export function parseTtl(text: string): number {
  return parseDurationSeconds('--token-ttl', text);
}

async function meshConfigOf(storeDir: string): Promise<MeshConfig['spec'] | undefined> {
  const loaded = loadConfig(await readConfigFiles([storeDir]));
  return loaded.objects.find((x): x is MeshConfig => x.kind === 'MeshConfig')?.spec;
}

/** `meshbridge serve --config PATH... | --store URL` (cli-contract): runs the control plane until SIGINT/SIGTERM. */
import { ControlPlane } from '../app/control-plane.js';
import { setLogger } from '@grpc/grpc-js';
import { consoleLogger } from '../lib/log/logger.js';
import { loadSecretsKeyring } from '../security/secrets-at-rest.js';
import { redact, type EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import type { XdsLimits } from '../xds/server/limits.js';
import type { ClusterSourceOptions } from '../sources/kube/cluster-source.js';

/**
 * grpc-js's own log lines, as its default logger writes them, except its report of a failed bind:
 * serve says that itself, as one sentence naming the flag (ListenRefused).
 */
function quietBindFailures(): void {
  const write = (prefix: string) => (message?: unknown, ...rest: unknown[]): void => {
    if (typeof message === 'string' && message.startsWith('No address added')) return;
    console.error(`${prefix} ${String(message)}`, ...rest);
  };
  setLogger({ error: write('E'), info: write('I'), debug: write('D') });
}

export interface ServeOptions {
  readonly config: readonly string[];
  readonly store?: string;
  readonly instance?: string;
  readonly sessionTtlSeconds?: number;
  readonly xdsAddress: string;
  readonly plaintextXds?: boolean;
  readonly secureXdsAddress?: string;
  readonly cacertsDir?: string;
  readonly httpAddress: string;
  readonly debounceMs: number;
  readonly debounceMaxMs: number;
  readonly stateDir?: string;
  readonly gracePeriodMs?: number;
  /** `--etcd-*` flags for an etcd store. */
  readonly etcd?: EtcdSecurityFlags;
  /** `--secrets-key-file` (else $MESHBRIDGE_SECRETS_KEY): seals the CA key and the signing key at rest. */
  readonly secretsKeyFile?: string;
  readonly xdsLimits?: Partial<XdsLimits>;
  readonly tokenMaxLifetimeSeconds?: number;
  readonly kube?: ClusterSourceOptions;
}

export async function runServe(o: ServeOptions, out: NodeJS.WritableStream): Promise<number> {
  quietBindFailures();
  const secrets = loadSecretsKeyring(o.secretsKeyFile);
  const cp = new ControlPlane({
    ...(secrets !== undefined ? { secrets } : {}),
    configPaths: o.config,
    ...(o.store !== undefined ? { store: o.store } : {}),
    ...(o.instance !== undefined ? { instance: o.instance } : {}),
    ...(o.sessionTtlSeconds !== undefined ? { sessionTtlSeconds: o.sessionTtlSeconds } : {}),
    xdsAddress: o.xdsAddress,
    ...(o.plaintextXds !== undefined ? { plaintextXds: o.plaintextXds } : {}),
    ...(o.secureXdsAddress !== undefined ? { secureXdsAddress: o.secureXdsAddress } : {}),
    ...(o.cacertsDir !== undefined ? { cacertsDir: o.cacertsDir } : {}),
    httpAddress: o.httpAddress,
    debounceMs: o.debounceMs,
    debounceMaxMs: o.debounceMaxMs,
    ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
    ...(o.gracePeriodMs !== undefined ? { gracePeriodMs: o.gracePeriodMs } : {}),
    ...(o.etcd !== undefined ? { etcd: o.etcd } : {}),
    ...(o.xdsLimits !== undefined ? { xdsLimits: o.xdsLimits } : {}),
    ...(o.tokenMaxLifetimeSeconds !== undefined ? { tokenMaxLifetimeSeconds: o.tokenMaxLifetimeSeconds } : {}),
    ...(o.kube !== undefined ? { kube: o.kube } : {}),
    logger: consoleLogger(),
  });
  // SIGINT/SIGTERM handlers go in before anything is printed: a supervisor that signals as soon as it
  // reads the listening lines must get a clean stop, not the default action (death by the signal).
  let signalled: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    signalled();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let listening: Awaited<ReturnType<ControlPlane['start']>>;
  try {
    listening = await cp.start();
  } catch (e) {
    // A refusal at start (wrong secrets key, etcd credentials): release what started, so the process ends.
    onSignal();
    await cp.stop().catch(() => undefined);
    throw e;
  }
  out.write(`xds listening on ${listening.xds !== '' ? listening.xds : 'none (plaintext xDS turned off)'}\n`);
  out.write(`http listening on ${listening.http} (metrics, debug endpoints)\n`);
  if (listening.xdsTls !== undefined) out.write(`xds-tls listening on ${listening.xdsTls}\n`);
  out.write(cp.stateDir !== undefined ? `state in ${cp.stateDir}\n` : `store ${redact(o.store ?? '')} as instance ${cp.instance}\n`);
  await stopRequested;
  await cp.stop();
  return 0;
}

/**
 * `meshbridge serve --config PATH... | --store URL` (cli-contract): its flags, their checks, and the
 * one settings object (app/serve-settings.ts) they become; the process runs in serve-run.ts.
 */
import type { Command } from 'commander';
import type { ServeSettings } from '../app/serve-settings.js';
import { consoleLogger } from '../lib/log/logger.js';
import { loadSecretsKeyring, SECRETS_KEY_ENV } from '../security/secrets-at-rest.js';
import { STORE_ENV } from '../sources/store-url.js';
import { DEFAULT_DEBOUNCE_MAX_MS, DEFAULT_DEBOUNCE_MS } from '../xds/generate/push-timing.js';
import { DEFAULT_XDS_LIMITS } from '../xds/server/limits.js';
import { DEFAULT_XDS_TRANSPORT, parseXdsTransport, XDS_TRANSPORTS, type XdsTransport } from '../xds/server/transport-choice.js';
import type { CommandContext } from './command-context.js';
import { parseDurationSeconds } from './durations.js';
import { collect, UsageError } from './output.js';
import { DEFAULT_HEAP_GROWTH_PERCENT } from './heap-growth.js';
import { etcdSecurityFlags, withEtcdSecurityOptions, type EtcdFlags } from './store-options.js';
import { clusterSourceOptions, withKubeOptions, type KubeFlags } from './kube-flags.js';

/** The flags of `serve` as commander parses them. */
interface ServeFlags extends EtcdFlags, KubeFlags {
  config?: string[];
  store?: string;
  xdsAddress: string;
  secureXdsAddress: string;
  insecureXds: boolean;
  insecureHttp: boolean;
  plaintextXds: boolean;
  cacerts?: string;
  httpAddress: string;
  debounce: number;
  debounceMax: number;
  stateDir?: string;
  gracePeriod: number;
  instance?: string;
  sessionTtl: number;
  reclaimRate: number;
  secretsKeyFile?: string;
  maxNodeBytes: number;
  maxResourceNames: number;
  maxInboundListeners: number;
  maxStreamsPerIdentity: number;
  maxStreams: number;
  tokenMaxLifetime: string;
  xdsTransport: XdsTransport;
  heapGrowth: number;
}

export function registerServe(program: Command, ctx: CommandContext): void {
  const serve = program
    .command('serve')
    .description('run the control plane on a folder of configuration or an etcd store, serving xDS')
    .option('--config <path>', 'configuration file or folder (repeatable; the file store)', collect)
    .option('--store <url>', 'file://DIR, etcd://HOST:PORT[,HOST:PORT...] or kube://[NAMESPACE] (the cluster of --kubeconfig, else the one serve runs in) (default: the --config folders)')
    .option('--xds-address <host:port>', 'ADS (gRPC) listen address', '127.0.0.1:15010')
    .option('--secure-xds-address <host:port>', 'ADS and certificate service over TLS (mutual TLS when the client has a certificate)', '127.0.0.1:15012')
    .option('--insecure-xds', 'allow the plaintext --xds-address on a non-loopback address (plaintext is for loopback development only)', false)
    .option('--no-plaintext-xds', 'serve no plaintext xDS port (only --secure-xds-address)')
    .option('--cacerts <dir>', "an operator's CA in Istio's cacerts layout (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); default: a self-signed root kept in the store")
    .option('--http-address <host:port>', 'metrics and debug endpoints', '127.0.0.1:15014')
    .option('--insecure-http', 'allow --http-address on a non-loopback address (its debug endpoints are plaintext and unauthenticated, and show every namespace)', false)
    .option('--debounce <ms>', 'quiet time before a push', parseNonNegative, DEFAULT_DEBOUNCE_MS)
    .option('--debounce-max <ms>', 'longest delay of a push under constant change (Istio: 10 s)', parseNonNegative, DEFAULT_DEBOUNCE_MAX_MS)
    .option('--state-dir <dir>', 'file store: where registered workloads, status and the signing key are kept (default: <first config>.state)')
    .option('--grace-period <ms>', 'how long a disconnected workload keeps its entry', parseNonNegative, 10_000)
    .option('--instance <name>', 'this control plane instance (the workloadController annotation; default meshbridge-<host>-<pid>)')
    .option('--session-ttl <seconds>', 'etcd: the replica session lease TTL; kube://: the Lease duration; a crashed replica is noticed this long after', parsePositiveInt, 5)
    .option('--reclaim-rate <per-second>', "the most writes per second of the leader's sweep and of reclaiming a dead replica's workloads (deletes included), evenly paced", parsePositiveInt, 20)
    .option('--max-node-bytes <bytes>', 'xDS: largest node (id and metadata) of a stream\'s first request', parseCount, DEFAULT_XDS_LIMITS.maxNodeBytes)
    .option('--max-resource-names <n>', 'xDS: most resource names in one request', parseCount, DEFAULT_XDS_LIMITS.maxResourceNames)
    .option('--max-inbound-listeners <n>', 'xDS: most inbound listener names (xds.istio.io/grpc/lds/inbound/...) one stream subscribes to', parseCount, DEFAULT_XDS_LIMITS.maxInboundListeners)
    .option('--max-streams-per-identity <n>', 'xDS: most streams connected with one proven identity (SPIFFE id or namespace registration token)', parseCount, DEFAULT_XDS_LIMITS.maxStreamsPerIdentity)
    .option('--max-streams <n>', 'xDS: most streams connected in all', parseCount, DEFAULT_XDS_LIMITS.maxStreams)
    .option('--xds-transport <name>', `what serves the xDS ports' gRPC calls: ${XDS_TRANSPORTS.join(' or ')} (http2: gRPC on node:http2 directly, pre-framed messages; grpc-js: @grpc/grpc-js's server)`, parseTransport, DEFAULT_XDS_TRANSPORT)
    .option('--heap-growth <percent>', "how far V8's old generation may grow past what the last full collection kept (like Go's GOGC; 0: V8's own factor, up to 300 %)", parsePercent, DEFAULT_HEAP_GROWTH_PERCENT)
    .option('--token-max-lifetime <duration>', 'how long a registration token may be renewed from its original issue, unless its workload is connected, healthy and renews with its certificate', '720h')
    .option('--secrets-key-file <file>', `encrypt the CA key and the token signing key at rest with this key (32 bytes, base64 or hex; several lines: the first encrypts, all decrypt); default $${SECRETS_KEY_ENV}`);
  withKubeOptions(withEtcdSecurityOptions(serve)).action(async (opts: ServeFlags) => {
    const settings = serveSettings(opts);
    // Loaded on demand: the xDS stack (gRPC, generated protobuf code) costs startup time the
    // offline commands do not need.
    const { runServe } = await import('./serve-run.js');
    ctx.setExitCode(await runServe(settings, ctx.out, { heapGrowthPercent: opts.heapGrowth }));
  });
}

/** Checks the flags (UsageError naming the flag) and makes them the settings of the control plane. */
function serveSettings(opts: ServeFlags): ServeSettings {
  const store = opts.store ?? (opts.config === undefined ? process.env[STORE_ENV] : undefined);
  // `--store kube://`: the cluster is the store and a source (its pods, Services...), with the same
  // connection; without --kubeconfig, the cluster serve runs in.
  const kubeStore = store?.startsWith('kube://') === true;
  const kube = clusterSourceOptions(kubeStore && opts.kubeconfig === undefined ? { ...opts, kubeInCluster: true } : opts);
  if ((!opts.config || opts.config.length === 0) && store === undefined) throw new UsageError('serve needs --config PATH or --store URL');
  if (opts.config && opts.config.length > 0 && store !== undefined) throw new UsageError('serve takes --config PATH or --store URL, not both');
  if (opts.plaintextXds && !opts.insecureXds && !isLoopbackAddress(opts.xdsAddress)) {
    throw new UsageError(
      `--xds-address ${opts.xdsAddress} is not a loopback address: the plaintext xDS port is for loopback development only; ` +
        'serve other networks on --secure-xds-address (TLS), turn plaintext off with --no-plaintext-xds, or pass --insecure-xds to serve plaintext there anyway',
    );
  }
  if (!opts.insecureHttp && !isLoopbackAddress(opts.httpAddress)) {
    throw new UsageError(
      `--http-address ${opts.httpAddress} is not a loopback address: the metrics and debug endpoints are plaintext, unauthenticated and show every namespace's configuration and endpoints; keep them on loopback, or pass --insecure-http to serve them there anyway`,
    );
  }
  const tokenMaxLifetimeSeconds = parseDurationSeconds('--token-max-lifetime', opts.tokenMaxLifetime);
  const secrets = loadSecretsKeyring(opts.secretsKeyFile);
  return {
    configPaths: opts.config ?? [],
    ...(kube !== undefined ? { kube } : {}),
    ...(store !== undefined ? { store } : {}),
    xdsAddress: opts.xdsAddress,
    plaintextXds: opts.plaintextXds,
    secureXdsAddress: opts.secureXdsAddress,
    ...(opts.cacerts !== undefined ? { cacertsDir: opts.cacerts } : {}),
    httpAddress: opts.httpAddress,
    debounceMs: opts.debounce,
    debounceMaxMs: opts.debounceMax,
    ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
    gracePeriodMs: opts.gracePeriod,
    ...(opts.instance !== undefined ? { instance: opts.instance } : {}),
    sessionTtlSeconds: opts.sessionTtl,
    reclaimRatePerSecond: opts.reclaimRate,
    etcd: etcdSecurityFlags(opts),
    ...(secrets !== undefined ? { secrets } : {}),
    xdsLimits: {
      maxNodeBytes: opts.maxNodeBytes,
      maxResourceNames: opts.maxResourceNames,
      maxInboundListeners: opts.maxInboundListeners,
      maxStreamsPerIdentity: opts.maxStreamsPerIdentity,
      maxStreams: opts.maxStreams,
    },
    tokenMaxLifetimeSeconds,
    xdsTransport: opts.xdsTransport,
    logger: consoleLogger(),
  };
}

/** Whether `host:port` names a loopback host (127.0.0.0/8, ::1, localhost). */
export function isLoopbackAddress(address: string): boolean {
  const host = address.slice(0, Math.max(0, address.lastIndexOf(':'))).replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./.test(host);
}

function parseTransport(v: string): XdsTransport {
  const transport = parseXdsTransport(v);
  if (transport === undefined) throw new UsageError(`--xds-transport: expected ${XDS_TRANSPORTS.join(' or ')}, not ${JSON.stringify(v)}`);
  return transport;
}

function parseNonNegative(v: string): number {
  const n = Number(v.replace(/ms$/, ''));
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`expected a number of milliseconds, not ${JSON.stringify(v)}`);
  return n;
}

/** A whole number of percent, 0 to 1000 (--heap-growth). */
function parsePercent(v: string): number {
  const n = Number(v.replace(/%$/, ''));
  if (!Number.isInteger(n) || n < 0 || n > 1000) throw new UsageError(`--heap-growth: expected a whole percentage from 0 to 1000, not ${JSON.stringify(v)}`);
  return n;
}

/** A whole number of at least 1 (a limit). */
function parseCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`expected a whole number of at least 1, not ${JSON.stringify(v)}`);
  return n;
}

function parsePositiveInt(v: string): number {
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`expected a whole number of seconds (at least 1), not ${JSON.stringify(v)}`);
  return n;
}

/**
 * The command line (cli-contract.md): parses arguments and runs a command. Exit codes: 0 success,
 * 1 invalid input or failed check, 2 usage or I/O error. Errors are one sentence on stderr, with a
 * stack trace only under --debug.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigReadError } from '../sources/file/read-files.js';
import { runEndpoints } from './endpoints-command.js';
import { collect, parseOutputFormat, UsageError } from './output.js';
import { runValidate } from './validate-command.js';
import { parseKeyValues, parsePorts, runWorkloadGroupCreate } from './workload-group-command.js';
import { ControlPlaneUnreachable, StoreUnreachable } from './errors.js';
import { DEFAULT_XDS_LIMITS } from '../xds/server/limits.js';
import { parseDurationSeconds } from './durations.js';
import { StoreUrlError } from '../model/config/store.js';
import type { EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import { SECRETS_KEY_ENV, SecretsKeyError } from '../security/secrets-at-rest.js';
import { registerAgentTools } from './agent-tools-command.js';
import type { CommandContext } from './command-context.js';
import { registerProxyConfig } from './proxy-config-command.js';
import { registerVersion } from './version-command.js';
import { registerCompletion } from './completion-command.js';
import { parseClientLocality, parseLabels } from './client-flags.js';
import { registerDiff } from './diff-command.js';
import { ListenRefused } from '../app/start-errors.js';
import { StateDirLocked } from '../sources/file/state-lock.js';

/**
 * `inspect`: called with the complete command tree instead of parsing `argv` (docs/cli.md is
 * generated from it: scripts/docs-cli.mjs, cli-reference.ts).
 */
export async function runCli(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr, inspect?: (program: Command) => void): Promise<number> {
  const debug = argv.includes('--debug');
  let exitCode = 0;
  const program = new Command('meshbridge')
    .description('A service-mesh control plane for VMs and Kubernetes, speaking Istio\'s API')
    .option('--debug', 'print stack traces of internal errors')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  const context: CommandContext = { out, err, setExitCode: (code) => (exitCode = code) };

  program
    .command('validate')
    .description('validate configuration files and folders')
    .argument('<path...>', 'files or folders (*.yaml, *.yml, *.json; recursive)')
    .option('--strict', 'unknown fields and unknown kinds are errors, not warnings (as `apply`)', false)
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .action(async (paths: string[], opts: { output: string; strict: boolean }) => {
      exitCode = await runValidate(paths, parseOutputFormat(opts.output), out, opts.strict);
    });

  program
    .command('endpoints')
    .description("show services, clusters and endpoints from one client's point of view")
    .option('--config <path>', 'configuration file or folder (repeatable; required unless --server)', collect)
    .option('--host <host>', 'only this host')
    .option('--port <port>', 'only this service port', parsePort)
    .option('--client-namespace <ns>', 'namespace of the client proxy', 'default')
    .option('--client-locality <region/zone/subzone>', 'locality of the client', parseClientLocality)
    .option('--client-network <network>', 'network of the client')
    .option('--client-labels <k=v,...>', 'labels of the client workload', parseLabels)
    .option('--client-ip <ip>', "the client's address (takes its WorkloadEntry's locality, network and labels: L-10)")
    .option('--explain', 'say which candidate workloads were left out and why', false)
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .option('--server <url>', 'read a running serve instead of files (its --http-address, e.g. http://127.0.0.1:15014): registered workloads and their health included')
    .action(async (opts: EndpointsFlags) => {
      if (opts.server !== undefined && opts.config !== undefined) throw new UsageError('endpoints takes --config PATH or --server URL, not both');
      if (opts.server === undefined && (!opts.config || opts.config.length === 0)) throw new UsageError('endpoints needs at least one --config PATH (or --server URL)');
      exitCode = await runEndpoints(
        {
          config: opts.config ?? [],
          ...(opts.server !== undefined ? { server: opts.server } : {}),
          client: {
            namespace: opts.clientNamespace,
            ...(opts.clientLocality !== undefined ? { locality: opts.clientLocality } : {}),
            ...(opts.clientNetwork !== undefined ? { network: opts.clientNetwork } : {}),
            ...(opts.clientLabels !== undefined ? { labels: opts.clientLabels } : {}),
            ...(opts.clientIp !== undefined ? { ip: opts.clientIp } : {}),
          },
          filter: { ...(opts.host !== undefined ? { host: opts.host } : {}), ...(opts.port !== undefined ? { port: opts.port } : {}) },
          explain: opts.explain,
          format: parseOutputFormat(opts.output),
        },
        out,
        err,
      );
    });

  const serve = program
    .command('serve')
    .description('run the control plane on a folder of configuration or an etcd store, serving xDS')
    .option('--config <path>', 'configuration file or folder (repeatable; the file store)', collect)
    .option('--store <url>', 'file://DIR or etcd://HOST:PORT[,HOST:PORT...] (default: the --config folders)')
    .option('--xds-address <host:port>', 'ADS (gRPC) listen address', '127.0.0.1:15010')
    .option('--secure-xds-address <host:port>', 'ADS and certificate service over TLS (mutual TLS when the client has a certificate)', '127.0.0.1:15012')
    .option('--insecure-xds', 'allow the plaintext --xds-address on a non-loopback address (plaintext is for loopback development only)', false)
    .option('--no-plaintext-xds', 'serve no plaintext xDS port (only --secure-xds-address)')
    .option('--cacerts <dir>', "an operator's CA in Istio's cacerts layout (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); default: a self-signed root kept in the store")
    .option('--http-address <host:port>', 'metrics and debug endpoints', '127.0.0.1:15014')
    .option('--insecure-http', 'allow --http-address on a non-loopback address (its debug endpoints are plaintext and unauthenticated, and show every namespace)', false)
    .option('--debounce <ms>', 'quiet time before a push', parseNonNegative, 100)
    .option('--debounce-max <ms>', 'longest delay of a push under constant change', parseNonNegative, 10_000)
    .option('--state-dir <dir>', 'file store: where registered workloads, status and the signing key are kept (default: <first config>.state)')
    .option('--grace-period <ms>', 'how long a disconnected workload keeps its entry', parseNonNegative, 10_000)
    .option('--instance <name>', 'this control plane instance (the workloadController annotation; default meshbridge-<host>-<pid>)')
    .option('--session-ttl <seconds>', 'etcd: the replica session lease TTL; a crashed replica is noticed this long after', parsePositiveInt, 5)
    .option('--max-node-bytes <bytes>', 'xDS: largest node (id and metadata) of a stream\'s first request', parseCount, DEFAULT_XDS_LIMITS.maxNodeBytes)
    .option('--max-resource-names <n>', 'xDS: most resource names in one request', parseCount, DEFAULT_XDS_LIMITS.maxResourceNames)
    .option('--max-inbound-listeners <n>', 'xDS: most inbound listener names (xds.istio.io/grpc/lds/inbound/...) one stream subscribes to', parseCount, DEFAULT_XDS_LIMITS.maxInboundListeners)
    .option('--max-streams-per-identity <n>', 'xDS: most streams connected with one proven identity (SPIFFE id or namespace registration token)', parseCount, DEFAULT_XDS_LIMITS.maxStreamsPerIdentity)
    .option('--max-streams <n>', 'xDS: most streams connected in all', parseCount, DEFAULT_XDS_LIMITS.maxStreams)
    .option('--token-max-lifetime <duration>', 'how long a registration token may be renewed from its original issue, unless its workload is connected, healthy and renews with its certificate', '720h')
    .option('--secrets-key-file <file>', `encrypt the CA key and the token signing key at rest with this key (32 bytes, base64 or hex; several lines: the first encrypts, all decrypt); default $${SECRETS_KEY_ENV}`);
  withEtcdSecurityOptions(serve)
    .action(async (opts: ServeFlags) => {
      const store = opts.store ?? (opts.config === undefined ? process.env['MESHBRIDGE_STORE'] : undefined);
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
      // Loaded on demand: the xDS stack (gRPC, generated protobuf code) costs startup time the
      // offline commands do not need.
      const { runServe } = await import('./serve-command.js');
      exitCode = await runServe(
        {
          config: opts.config ?? [],
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
          etcd: etcdSecurityFlags(opts),
          ...(opts.secretsKeyFile !== undefined ? { secretsKeyFile: opts.secretsKeyFile } : {}),
          xdsLimits: {
            maxNodeBytes: opts.maxNodeBytes,
            maxResourceNames: opts.maxResourceNames,
            maxInboundListeners: opts.maxInboundListeners,
            maxStreamsPerIdentity: opts.maxStreamsPerIdentity,
            maxStreams: opts.maxStreams,
          },
          tokenMaxLifetimeSeconds: parseDurationSeconds('--token-max-lifetime', opts.tokenMaxLifetime),
        },
        out,
      );
    });

  program
    .command('proxy-status')
    .description('show, per connected proxy and xDS type, whether it is SYNCED, STALE, NACKED or NOT SENT; with PROXY, its versions and a diff of what it ACKed against what it would get now')
    .argument('[proxy]', 'one proxy: its name as listed (<name>.<namespace>) or its node id')
    .option('--http-address <host:port>', 'the http address of a running serve', '127.0.0.1:15014')
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .action(async (proxy: string | undefined, opts: { httpAddress: string; output: string }) => {
      const { runProxyStatus, runProxyStatusOf } = await import('./proxy-status-command.js');
      exitCode = proxy === undefined ? await runProxyStatus(opts.httpAddress, parseOutputFormat(opts.output), out) : await runProxyStatusOf(opts.httpAddress, proxy, parseOutputFormat(opts.output), context);
    });

  const storeOption = '--store <url>';
  const storeHelp = 'file://DIR or etcd://HOST:PORT[,HOST:PORT...] (default: $MESHBRIDGE_STORE or file://.)';
  const storeOf = (url: string | undefined): string => url ?? process.env['MESHBRIDGE_STORE'] ?? 'file://.';

  const get = program
    .command('get')
    .description('list objects of a kind from the store')
    .argument('<kind>', "kind: Istio's names, plural and short forms (we, se, wg, ...); several separated by commas (we,se)")
    .argument('[name]', 'only this object (with one kind)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'every namespace', false)
    .option('-o, --output <format>', 'text, wide, yaml, json or name', 'text')
    .option(storeOption, storeHelp)
    .option('--state-dir <dir>', "file store: the control plane's state directory (default: <store folder>.state)")
    .option('-l, --selector <selector>', 'only objects whose labels match (k=v, k!=v, k, !k, k in (a,b), k notin (a,b); comma-separated)')
    .option('-w, --watch', 'after listing, print each change until interrupted', false);
  withEtcdSecurityOptions(get)
    .action(async (kind: string, name: string | undefined, opts: { namespace: string; allNamespaces: boolean; output: string; store?: string; stateDir?: string; selector?: string; watch: boolean } & EtcdFlags) => {
      const { runGet } = await import('./get-command.js');
      exitCode = await runGet(
        {
          kind,
          ...(opts.selector !== undefined ? { selector: opts.selector } : {}),
          ...(opts.watch ? { watch: true, signal: interrupted() } : {}),
          ...(name !== undefined ? { name } : {}),
          namespace: opts.namespace,
          allNamespaces: opts.allNamespaces,
          output: opts.output,
          store: storeOf(opts.store),
          etcd: etcdSecurityFlags(opts),
          ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
        },
        out,
        err,
      );
    });

  const workload = program.command('workload').description('onboard VMs: WorkloadGroups and the files their agents start from');
  workload
    .command('group')
    .description('WorkloadGroup helpers')
    .command('create')
    .description("print a WorkloadGroup (as istioctl's `x workload group create`)")
    .option('--name <name>', 'name of the WorkloadGroup (required)')
    .option('-n, --namespace <ns>', 'namespace of the WorkloadGroup (required)')
    .option('-l, --labels <k=v,...>', 'labels of the workloads (repeatable)', (v: string, p?: Record<string, string>) => parseKeyValues('--labels', v, p), {})
    .option('-a, --annotations <k=v,...>', 'annotations of the workloads (repeatable)', (v: string, p?: Record<string, string>) => parseKeyValues('--annotations', v, p), {})
    .option('-p, --ports <name=port,...>', 'ports of the workloads (repeatable)', (v: string, p?: Record<string, number>) => parsePorts(v, p), {})
    .option('-s, --serviceAccount <sa>', 'service account of the workloads', 'default')
    .option('--network <network>', 'network of the workloads')
    .option('--locality <region/zone/subzone>', 'locality of the workloads')
    .option('-w, --weight <n>', 'load-balancing weight of the workloads', parseWeight)
    .addOption(new Option('-o, --output <format>', 'text (YAML), json or yaml').default('text'))
    .action((opts: GroupCreateFlags) => {
      exitCode = runWorkloadGroupCreate(
        {
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
          labels: opts.labels,
          annotations: opts.annotations,
          ports: opts.ports,
          serviceAccount: opts.serviceAccount,
          ...(opts.network !== undefined ? { network: opts.network } : {}),
          ...(opts.locality !== undefined ? { locality: opts.locality } : {}),
          ...(opts.weight !== undefined ? { weight: opts.weight } : {}),
        },
        parseOutputFormat(opts.output),
        out,
      );
    });
  const entry = workload.command('entry').description('WorkloadEntry helpers');
  const configure = entry
    .command('configure')
    .description("write a VM agent's bootstrap folder for a WorkloadGroup (as istioctl's `x workload entry configure`)")
    .option('-f, --file <group.yaml>', 'the WorkloadGroup file (required)')
    .option('-o, --output <dir>', 'the folder to write (required)')
    .option('--control-plane <host:port>', "the control plane's secure xDS address (serve --secure-xds-address) as the VM reaches it (required)")
    .option('--cacerts <dir>', "the operator's cacerts folder when serve uses one (its root-cert.pem is written for the agent)")
    .option('--store <url>', 'the store whose replicas sign the token: file://DIR (its state directory) or etcd://HOST:PORT[,...] (default file://.)')
    .option('--state-dir <dir>', 'the state directory holding the signing key (overrides the store\'s)')
    .option('--token-ttl <duration>', 'lifetime of the registration token', '1h')
    .option('--secrets-key-file <file>', `the key serve encrypts its keys at rest with (serve --secrets-key-file); default $${SECRETS_KEY_ENV}`);
  withEtcdSecurityOptions(configure)
    .action(async (opts: { file?: string; output?: string; controlPlane?: string; store?: string; stateDir?: string; cacerts?: string; tokenTtl: string; secretsKeyFile?: string } & EtcdFlags) => {
      const { runWorkloadEntryConfigure } = await import('./workload-entry-command.js');
      exitCode = await runWorkloadEntryConfigure({ ...opts, etcd: etcdSecurityFlags(opts) }, out, err);
    });
  entry
    .command('revoke')
    .description('revoke registration tokens: one lineage (a token id with --group and -n, a token, or --token-file) or every token of a group (--group, -n); kept on the WorkloadGroup in the store')
    .argument('[token]', 'a token id (16 hex digits; with --group and -n) or a whole registration token')
    .option('--token-file <file>', 'revoke the token in this file (e.g. DIR/registration-token)')
    .option('--group <name>', 'the WorkloadGroup; alone: revoke every token of it issued up to now')
    .option('-n, --namespace <ns>', 'the namespace of the WorkloadGroup (default: default, or the token\'s)')
    .option(storeOption, storeHelp)
    .action(async (token: string | undefined, opts: { tokenFile?: string; group?: string; namespace?: string; store?: string }) => {
      const { runWorkloadEntryRevoke } = await import('./workload-entry-revoke.js');
      exitCode = await runWorkloadEntryRevoke(
        { ...(token !== undefined ? { token } : {}), ...(opts.tokenFile !== undefined ? { tokenFile: opts.tokenFile } : {}), ...(opts.group !== undefined ? { group: opts.group } : {}), ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}), store: storeOf(opts.store) },
        out,
        err,
      );
    });

  program
    .command('agent')
    .description('run the VM agent: register with the control plane, probe the workload, report its health, keep its certificate, and serve local apps (xDS proxy)')
    .option('--bootstrap <dir>', 'the folder written by `workload entry configure` (required)')
    .option('--ip <ip>', "the VM's IP (default: its first non-internal IPv4)")
    .option('--locality <region/zone/subzone>', "the VM's locality (default: the group template's)")
    .option('--heartbeat <seconds>', 're-send the last health report this often', parsePositiveSeconds)
    .option('--no-register', 'identity only: do not register a WorkloadEntry nor report health (the workload exists already: a Pod or an operator-written entry); still keeps the certificate and serves local apps')
    .option('--name <name>', 'with --no-register: the workload name in node ids (default <group>-<ip>, the name registration would give)')
    .option('--xds-proxy-address <host:port>', 'loopback address of the xDS proxy that local gRPC apps use (their bootstrap points at it); default 127.0.0.1:15011, or a free port on 127.0.0.1 when that is taken')
    .option('--sds-address <path|host:port>', 'where the SDS server for a local Envoy listens: a unix socket path, or a loopback HOST:PORT; `off` for none (default DIR/sds.sock)')
    .option('--inbound <port:app-port>', 'inbound mTLS proxy: listen on <ip>:PORT, forward to <ip>:APP_PORT, mode (STRICT/PERMISSIVE/DISABLE) from the control plane (repeatable)', collect)
    .option('--inbound-default <refuse|STRICT|PERMISSIVE|DISABLE>', 'what an --inbound port does while it has no policy from the control plane (before the first answer, or when its Listener does not exist); default refuse: every connection is refused. The last policy received is kept while the control plane is unreachable')
    .option('--certificate-ttl <duration>', "requested lifetime of the workload certificate (Istio's SECRET_TTL; the CA caps it at 24h); renewed at half of it", '24h')
    .action(async (opts: { bootstrap?: string; ip?: string; locality?: string; heartbeat?: number; register: boolean; name?: string; xdsProxyAddress?: string; sdsAddress?: string; inbound?: string[]; inboundDefault?: string; certificateTtl?: string }) => {
      // Loaded on demand, as serve: gRPC and the generated protobuf code.
      const { runAgent } = await import('./agent-command.js');
      exitCode = await runAgent(opts, out, err);
    });

  const agentCommand = program.commands.find((c) => c.name() === 'agent');
  if (agentCommand) registerAgentTools(agentCommand, out, (code) => (exitCode = code));

  const apply = program
    .command('apply')
    .description('validate and write objects to the store, all or nothing')
    .option('-f, --filename <path>', 'file or folder (repeatable; required)', collect)
    .option(storeOption, storeHelp)
    .option('-n, --namespace <ns>', 'the namespace of objects that name none (an object naming another is refused)')
    .addOption(new Option('--dry-run <mode>', 'client: validate only; server: also check against the store, writing nothing').choices(['none', 'client', 'server']).default('none'));
  withEtcdSecurityOptions(apply)
    .action(async (opts: { filename?: string[]; store?: string; namespace?: string; dryRun: 'none' | 'client' | 'server' } & EtcdFlags) => {
      if (!opts.filename || opts.filename.length === 0) throw new UsageError('apply needs -f FILE|DIR');
      const { runApply } = await import('./apply-command.js');
      exitCode = await runApply({ files: opts.filename, store: storeOf(opts.store), etcd: etcdSecurityFlags(opts), ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}), dryRun: opts.dryRun }, out, err);
    });

  const del = program
    .command('delete')
    .description('delete objects from the store: KIND NAME, or the objects of -f FILE|DIR')
    .argument('[kind]', 'kind (we, se, wg, ...)')
    .argument('[name]', 'object name')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-f, --filename <path>', 'file or folder (repeatable)', collect)
    .option(storeOption, storeHelp);
  withEtcdSecurityOptions(del)
    .action(async (kind: string | undefined, name: string | undefined, opts: { namespace: string; filename?: string[]; store?: string } & EtcdFlags) => {
      const { runDelete } = await import('./delete-command.js');
      exitCode = await runDelete(
        { ...(kind !== undefined ? { kind } : {}), ...(name !== undefined ? { name } : {}), namespace: opts.namespace, files: opts.filename ?? [], store: storeOf(opts.store), etcd: etcdSecurityFlags(opts) },
        out,
        err,
      );
    });

  registerProxyConfig(program, context);
  registerVersion(program, context);
  registerCompletion(program, context);
  registerDiff(program, context);
  program
    .command('analyze')
    .description('analyze configuration for mistakes across objects, as istioctl analyze (message codes and levels)')
    .argument('[path...]', 'files or folders (*.yaml, *.yml, *.json; recursive)')
    .option(storeOption, 'analyze the objects of a store instead: file://DIR or etcd://HOST:PORT[,HOST:PORT...]')
    .option('--failure-threshold <level>', 'exit 1 when a message is at this level or above: Info, Warning or Error', 'Error')
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').default('text'))
    .action(async (paths: string[], opts: { store?: string; failureThreshold: string; output: string }) => {
      const { runAnalyze, parseAnalysisLevel } = await import('./analyze-command.js');
      exitCode = await runAnalyze(
        { paths, ...(opts.store !== undefined ? { store: opts.store } : {}), failureThreshold: parseAnalysisLevel(opts.failureThreshold), format: parseOutputFormat(opts.output) },
        out,
      );
    });
  if (inspect !== undefined) {
    inspect(program);
    return 0;
  }

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander already printed the message
    }
    if (e instanceof UsageError || e instanceof ConfigReadError || e instanceof ControlPlaneUnreachable || e instanceof StoreUnreachable || e instanceof StoreUrlError || e instanceof SecretsKeyError || e instanceof StateDirLocked || e instanceof ListenRefused) {
      err.write(`meshbridge: ${e.message}\n`);
      return 2;
    }
    err.write(`meshbridge: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (debug && e instanceof Error && e.stack) err.write(`${e.stack}\n`);
    return 2;
  }
}

interface GroupCreateFlags {
  name?: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ports: Record<string, number>;
  serviceAccount: string;
  network?: string;
  locality?: string;
  weight?: number;
  output: string;
}

function parseWeight(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n > 4294967295) throw new UsageError(`--weight must be a whole number, not ${JSON.stringify(v)}`);
  return n;
}

function parsePositiveSeconds(v: string): number {
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`expected a positive number of seconds, not ${JSON.stringify(v)}`);
  return n;
}

/** The `--etcd-*` flags (docs/stores.md "Connecting to etcd securely"); they override the URL's options. */
interface EtcdFlags {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPasswordFile?: string;
}

function withEtcdSecurityOptions(c: Command): Command {
  return c
    .option('--etcd-ca <file>', "etcd store: the CA that signed etcd's server certificate (turns TLS on)")
    .option('--etcd-cert <file>', "etcd store: this client's certificate for etcd's --client-cert-auth (with --etcd-key; turns TLS on)")
    .option('--etcd-key <file>', 'etcd store: the key of --etcd-cert')
    .option('--etcd-user <name>', "etcd store: the user of etcd's auth (with --etcd-password-file)")
    .option('--etcd-password-file <file>', "etcd store: a file holding the --etcd-user's password");
}

function etcdSecurityFlags(o: EtcdFlags): EtcdSecurityFlags {
  return {
    ...(o.etcdCa !== undefined ? { ca: o.etcdCa } : {}),
    ...(o.etcdCert !== undefined ? { cert: o.etcdCert } : {}),
    ...(o.etcdKey !== undefined ? { key: o.etcdKey } : {}),
    ...(o.etcdUser !== undefined ? { user: o.etcdUser } : {}),
    ...(o.etcdPasswordFile !== undefined ? { passwordFile: o.etcdPasswordFile } : {}),
  };
}

interface ServeFlags extends EtcdFlags {
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
  secretsKeyFile?: string;
  maxNodeBytes: number;
  maxResourceNames: number;
  maxInboundListeners: number;
  maxStreamsPerIdentity: number;
  maxStreams: number;
  tokenMaxLifetime: string;
}

interface EndpointsFlags {
  config?: string[];
  host?: string;
  port?: number;
  clientNamespace: string;
  clientLocality?: string;
  clientNetwork?: string;
  clientLabels?: Record<string, string>;
  clientIp?: string;
  explain: boolean;
  output: string;
  server?: string;
}

/** Whether `host:port` names a loopback host (127.0.0.0/8, ::1, localhost). */
export function isLoopbackAddress(address: string): boolean {
  const host = address.slice(0, Math.max(0, address.lastIndexOf(':'))).replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./.test(host);
}

/** Aborts on the first SIGINT or SIGTERM (`get -w` ends cleanly, exit 0). */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

function parseNonNegative(v: string): number {
  const n = Number(v.replace(/ms$/, ''));
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`expected a number of milliseconds, not ${JSON.stringify(v)}`);
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

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1 || n > 65535) throw new UsageError(`--port must be a number from 1 to 65535, not ${JSON.stringify(v)}`);
  return n;
}

/**
 * `meshbridge workload ...` (cli-contract, VM onboarding): the flags of `workload group create`
 * (workload-group-command.ts), `workload entry configure` (workload-entry-command.ts) and
 * `workload entry revoke` (workload-entry-revoke.ts); the entry commands are loaded on demand (they
 * bring the etcd client and the CA).
 */
import { Option, type Command } from 'commander';
import { SECRETS_KEY_ENV } from '../security/secrets-at-rest.js';
import { storeUrlOrDefault } from '../sources/store-url.js';
import type { CommandContext } from './command-context.js';
import { parseOutputFormat, UsageError } from './output.js';
import { etcdSecurityFlags, STORE_HELP, STORE_OPTION, withEtcdSecurityOptions, withKubeStoreOptions, type EtcdFlags } from './store-options.js';
import { parseKeyValues, parsePorts, runWorkloadGroupCreate } from './workload-group-command.js';

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

export function registerWorkload(program: Command, ctx: CommandContext): void {
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
      ctx.setExitCode(
        runWorkloadGroupCreate(
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
          ctx.out,
        ),
      );
    });
  const entry = workload.command('entry').description('WorkloadEntry helpers');
  const configure = entry
    .command('configure')
    .description("write a VM agent's bootstrap folder for a WorkloadGroup (as istioctl's `x workload entry configure`)")
    .option('-f, --file <group.yaml>', 'the WorkloadGroup file (required)')
    .option('-o, --output <dir>', 'the folder to write (required)')
    .option('--control-plane <host:port>', "the control plane's secure xDS address (serve --secure-xds-address) as the VM reaches it, or a comma-separated list of the replicas' addresses (the agent fails over between them) (required)")
    .option('--cacerts <dir>', "the operator's cacerts folder when serve uses one (its root-cert.pem is written for the agent)")
    .option('--store <url>', 'the store whose replicas sign the token: file://DIR (its state directory), etcd://HOST:PORT[,...] or kube://[NAMESPACE] (default file://.)')
    .option('--state-dir <dir>', 'the state directory holding the signing key (overrides the store\'s)')
    .option('--token-ttl <duration>', 'lifetime of the registration token', '1h')
    .option('--ip <ip>', "the VM's IP: also write envoy-bootstrap.yaml for a sidecar Envoy on it (the agent rewrites it at start)")
    .option('--secrets-key-file <file>', `the key serve encrypts its keys at rest with (serve --secrets-key-file); default $${SECRETS_KEY_ENV}`);
  withKubeStoreOptions(withEtcdSecurityOptions(configure)).action(async (opts: { file?: string; output?: string; controlPlane?: string; store?: string; stateDir?: string; cacerts?: string; tokenTtl: string; secretsKeyFile?: string; ip?: string } & EtcdFlags) => {
    const { runWorkloadEntryConfigure } = await import('./workload-entry-command.js');
    ctx.setExitCode(await runWorkloadEntryConfigure({ ...opts, etcd: etcdSecurityFlags(opts) }, ctx.out, ctx.err));
  });
  entry
    .command('revoke')
    .description('revoke registration tokens: one lineage (a token id with --group and -n, a token, or --token-file) or every token of a group (--group, -n); kept on the WorkloadGroup in the store')
    .argument('[token]', 'a token id (16 hex digits; with --group and -n) or a whole registration token')
    .option('--token-file <file>', 'revoke the token in this file (e.g. DIR/registration-token)')
    .option('--group <name>', 'the WorkloadGroup; alone: revoke every token of it issued up to now')
    .option('-n, --namespace <ns>', 'the namespace of the WorkloadGroup (default: default, or the token\'s)')
    .option(STORE_OPTION, STORE_HELP)
    .action(async (token: string | undefined, opts: { tokenFile?: string; group?: string; namespace?: string; store?: string }) => {
      const { runWorkloadEntryRevoke } = await import('./workload-entry-revoke.js');
      ctx.setExitCode(
        await runWorkloadEntryRevoke(
          { ...(token !== undefined ? { token } : {}), ...(opts.tokenFile !== undefined ? { tokenFile: opts.tokenFile } : {}), ...(opts.group !== undefined ? { group: opts.group } : {}), ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}), store: storeUrlOrDefault(opts.store) },
          ctx.out,
          ctx.err,
        ),
      );
    });
}

function parseWeight(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n > 4294967295) throw new UsageError(`--weight must be a whole number, not ${JSON.stringify(v)}`);
  return n;
}

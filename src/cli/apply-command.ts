/**
 * `meshbridge apply -f FILE|DIR [-f ...] [--store URL]` (cli-contract), kubectl-like:
 * 1. Admission first: every document is parsed and validated as `validate` does; any error refuses
 *    the whole apply with the same positioned findings, and nothing is written.
 * 2. All or nothing: every object is one op of one store transaction (etcd: one txn), each
 *    conditioned on the version just read, so the apply lands on exactly the state it compared with.
 * 3. Optimistic concurrency: an object that carries `metadata.resourceVersion` is written only if
 *    the store still has that version; otherwise the apply is refused with a conflict message.
 *    Objects without one are applied over whatever is there (a race with another writer is retried).
 * Prints one line per object: `workloadentry.networking.istio.io/vm1 created|configured|unchanged`.
 */
import { Option, type Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { storeUrlOrDefault } from '../sources/store-url.js';
import { etcdSecurityFlags, STORE_HELP, STORE_OPTION, withEtcdSecurityOptions, withKubeStoreOptions, type EtcdFlags } from './store-options.js';
import type { Finding } from '../model/config/load.js';
import { admitConfig } from '../model/config/admission.js';
import { formatFinding } from '../model/config/format-finding.js';
import { qualifiedKind } from '../model/config/kind-names.js';
import { StoreUnavailableError } from '../model/config/store.js';
import { applyObjects } from '../app/apply-objects.js';
import type { ConfigObject } from '../model/config/types.js';
import { readConfigFiles } from '../sources/file/read-files.js';
import type { EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import { openCliStore, requireSharedStore, StoreUnreachable } from './store-client.js';
import { applyNamespace } from './apply-namespace.js';
import { collect, UsageError } from './output.js';

export interface ApplyOptions {
  readonly files: readonly string[];
  readonly store: string;
  /** `--etcd-*` flags for an etcd store. */
  readonly etcd?: EtcdSecurityFlags;
  /** `-n NS`: the namespace of objects that name none (kubectl). */
  readonly namespace?: string;
  /** kubectl's `--dry-run`: `client` validates only; `server` also reads the store and plans the writes, writing nothing. */
  readonly dryRun?: 'none' | 'client' | 'server';
}

async function placeInNamespace(admitted: { objects: ConfigObject[]; refused: Finding[] }, paths: readonly string[], namespace: string): Promise<{ objects: ConfigObject[]; refused: Finding[] }> {
  const placed = applyNamespace(admitted.objects, await readConfigFiles(paths), namespace);
  return { objects: placed.objects, refused: [...admitted.refused, ...placed.refused] };
}

/**
 * Admission with positions (model/config/admission.ts): errors, unknown kinds, unknown fields
 * (kubectl's default strict field validation) and duplicates refuse the apply.
 */
export async function admitFiles(paths: readonly string[]): Promise<{ objects: ConfigObject[]; refused: Finding[] }> {
  const { objects, refused } = admitConfig(await readConfigFiles(paths));
  return { objects, refused };
}

export async function runApply(o: ApplyOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const admitted = await admitFiles(o.files);
  const { objects, refused } = o.namespace === undefined ? admitted : await placeInNamespace(admitted, o.files, o.namespace);
  const dryRun = o.dryRun ?? 'none';
  const suffix = dryRun === 'client' ? ' (dry run)' : dryRun === 'server' ? ' (server dry run)' : '';
  if (refused.length > 0) {
    for (const f of refused) err.write(`${formatFinding(f, 'error')}\n`);
    err.write(`refused: ${refused.length} error${refused.length === 1 ? '' : 's'}; nothing was applied\n`);
    return 1;
  }
  if (objects.length === 0) {
    err.write('meshbridge: no objects to apply\n');
    return 1;
  }
  if (dryRun === 'client') {
    // Admission only, the store is not contacted: whether an object would be created or changed is
    // the server dry run's to say.
    for (const x of objects) out.write(`${qualifiedKind(x.kind, x.apiVersion)}/${x.metadata.name} validated${suffix}\n`);
    return 0;
  }
  const s = await openCliStore(o.store, undefined, o.etcd);
  try {
    // A server dry run writes nothing: the file store (read-only here) can answer it too.
    if (dryRun !== 'server') requireSharedStore(s, 'apply');
    let r;
    try {
      r = await applyObjects(s.store, objects, undefined, { dryRun: dryRun === 'server' });
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw new StoreUnreachable(e.message);
      throw e;
    }
    if (r.ok) {
      for (const [i, x] of objects.entries()) out.write(`${qualifiedKind(x.kind, x.apiVersion)}/${x.metadata.name} ${r.outcomes[i] ?? 'configured'}${suffix}\n`);
      return 0;
    }
    const f = r.failure;
    if (f.code === 'Unavailable') throw new StoreUnreachable(`${s.store.description}: ${f.message}`);
    const where = r.object ? `${r.object.origin.file}:${r.object.origin.line}:${r.object.origin.column}: ` : '';
    err.write(`${where}Error from server (${f.code}): ${f.message}\nnothing was applied${suffix}\n`);
    return 1;
  } finally {
    await s.close();
  }
}

export function registerApply(program: Command, ctx: CommandContext): void {
  const apply = program
    .command('apply')
    .description('validate and write objects to the store, all or nothing')
    .option('-f, --filename <path>', 'file or folder (repeatable; required)', collect)
    .option(STORE_OPTION, STORE_HELP)
    .option('-n, --namespace <ns>', 'the namespace of objects that name none (an object naming another is refused)')
    .addOption(new Option('--dry-run <mode>', 'client: validate only; server: also check against the store, writing nothing').choices(['none', 'client', 'server']).default('none'));
  withKubeStoreOptions(withEtcdSecurityOptions(apply)).action(async (opts: { filename?: string[]; store?: string; namespace?: string; dryRun: 'none' | 'client' | 'server' } & EtcdFlags) => {
    if (!opts.filename || opts.filename.length === 0) throw new UsageError('apply needs -f FILE|DIR');
    ctx.setExitCode(await runApply({ files: opts.filename, store: storeUrlOrDefault(opts.store), etcd: etcdSecurityFlags(opts), ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}), dryRun: opts.dryRun }, ctx.out, ctx.err));
  });
}

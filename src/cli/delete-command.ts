/**
 * `meshbridge delete KIND NAME [-n NS]` / `delete -f FILE|DIR` (cli-contract): deletes objects
 * from the store in one transaction, each at the version just read (so a concurrent change makes
 * the delete read again rather than remove something it did not see). Objects that do not exist
 * are reported (`NotFound`, exit 1); the others are deleted.
 * Prints `workloadentry.networking.istio.io "vm1" deleted` per object, as kubectl does.
 */
import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { storeUrlOrDefault } from '../sources/store-url.js';
import { etcdSecurityFlags, STORE_HELP, STORE_OPTION, withEtcdSecurityOptions, withKubeStoreOptions, type EtcdFlags } from './store-options.js';
import { defaultApiVersion, kindFromName, qualifiedKind } from '../model/config/kind-names.js';
import { formatFinding } from '../model/config/format-finding.js';
import { describeRef, StoreUnavailableError, type ObjectRef, type WriteOp } from '../model/config/store.js';
import { CLUSTER_SCOPED_KINDS, type ConfigObject } from '../model/config/types.js';
import { admitFiles } from './apply-command.js';
import { collect, UsageError } from './output.js';
import type { EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import { openCliStore, requireSharedStore, StoreUnreachable } from './store-client.js';

export interface DeleteOptions {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace: string;
  readonly files: readonly string[];
  readonly store: string;
  /** `--etcd-*` flags for an etcd store. */
  readonly etcd?: EtcdSecurityFlags;
}

async function refsOf(o: DeleteOptions, err: NodeJS.WritableStream): Promise<{ refs: ObjectRef[]; apiVersions: string[] } | undefined> {
  if (o.files.length > 0) {
    if (o.kind !== undefined) throw new UsageError('delete takes either KIND NAME or -f FILE, not both');
    const { objects, refused } = await admitFiles(o.files);
    if (refused.length > 0) {
      for (const f of refused) err.write(`${formatFinding(f, 'error')}\n`);
      return undefined;
    }
    return { refs: objects.map((x) => ({ kind: x.kind, namespace: x.metadata.namespace, name: x.metadata.name })), apiVersions: objects.map((x) => x.apiVersion) };
  }
  if (o.kind === undefined || o.name === undefined) throw new UsageError('delete needs KIND NAME (or -f FILE)');
  const kind = kindFromName(o.kind);
  if (!kind) throw new UsageError(`unknown kind ${JSON.stringify(o.kind)}`);
  return { refs: [{ kind, namespace: CLUSTER_SCOPED_KINDS.has(kind) ? '' : o.namespace, name: o.name }], apiVersions: [defaultApiVersion(kind)] };
}

export async function runDelete(o: DeleteOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const target = await refsOf(o, err);
  if (!target) return 1;
  const s = await openCliStore(o.store, undefined, o.etcd);
  try {
    requireSharedStore(s, 'delete');
    for (let attempt = 0; attempt < 5; attempt++) {
      let current: (ConfigObject | undefined)[];
      try {
        current = await Promise.all(target.refs.map((r) => s.store.get(r)));
      } catch (e) {
        if (e instanceof StoreUnavailableError) throw new StoreUnreachable(e.message);
        throw e;
      }
      const present = target.refs.map((ref, i) => ({ ref, cur: current[i], i })).filter((x): x is { ref: ObjectRef; cur: ConfigObject; i: number } => x.cur !== undefined);
      const ops: WriteOp[] = present.map(({ ref, cur }) => ({ op: 'delete', ref, resourceVersion: cur.metadata.resourceVersion ?? '' }));
      if (ops.length > 0) {
        const r = await s.store.write(ops);
        if (!r.ok) {
          if (r.failure.code === 'Conflict' || r.failure.code === 'NotFound') continue; // changed meanwhile: read again
          if (r.failure.code === 'Unavailable') throw new StoreUnreachable(`${s.store.description}: ${r.failure.message}`);
          err.write(`Error from server (${r.failure.code}): ${r.failure.message}\n`);
          return 1;
        }
      }
      for (const { cur } of present) out.write(`${qualifiedKind(cur.kind, cur.apiVersion)} "${cur.metadata.name}" deleted\n`);
      let missing = 0;
      for (const [i, ref] of target.refs.entries()) {
        if (current[i] !== undefined) continue;
        missing++;
        err.write(`Error from server (NotFound): ${qualifiedKind(ref.kind, target.apiVersions[i] ?? '')} "${ref.name}" not found${ref.namespace ? ` in namespace ${ref.namespace}` : ''}\n`);
      }
      return missing > 0 ? 1 : 0;
    }
    err.write(`Error from server (Conflict): ${target.refs.map(describeRef).join(', ')} kept changing; nothing was deleted\n`);
    return 1;
  } finally {
    await s.close();
  }
}

export function registerDelete(program: Command, ctx: CommandContext): void {
  const del = program
    .command('delete')
    .description('delete objects from the store: KIND NAME, or the objects of -f FILE|DIR')
    .argument('[kind]', 'kind (we, se, wg, ...)')
    .argument('[name]', 'object name')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-f, --filename <path>', 'file or folder (repeatable)', collect)
    .option(STORE_OPTION, STORE_HELP);
  withKubeStoreOptions(withEtcdSecurityOptions(del)).action(async (kind: string | undefined, name: string | undefined, opts: { namespace: string; filename?: string[]; store?: string } & EtcdFlags) => {
    ctx.setExitCode(
      await runDelete(
        { ...(kind !== undefined ? { kind } : {}), ...(name !== undefined ? { name } : {}), namespace: opts.namespace, files: opts.filename ?? [], store: storeUrlOrDefault(opts.store), etcd: etcdSecurityFlags(opts) },
        ctx.out,
        ctx.err,
      ),
    );
  });
}

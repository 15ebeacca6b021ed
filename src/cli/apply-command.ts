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
import { randomUUID } from 'node:crypto';
import { loadConfig, type Finding } from '../model/config/load.js';
import { formatFinding } from '../model/config/format-finding.js';
import { qualifiedKind } from '../model/config/kind-names.js';
import { describeRef, refOf, StoreUnavailableError, type WriteOp } from '../model/config/store.js';
import { planWrite } from '../model/config/store-writes.js';
import { objectKey, type ConfigObject } from '../model/config/types.js';
import { readConfigFiles } from '../sources/file/read-files.js';
import { openCliStore, requireSharedStore, StoreUnreachable } from './store-client.js';

export interface ApplyOptions {
  readonly files: readonly string[];
  readonly store: string;
}

type Outcome = 'created' | 'configured' | 'unchanged';

/** Admission with positions: errors, unknown kinds and duplicates refuse the apply. */
export async function admitFiles(paths: readonly string[]): Promise<{ objects: ConfigObject[]; refused: Finding[] }> {
  const files = await readConfigFiles(paths);
  const loaded = loadConfig(files);
  const refused = loaded.findings
    .filter((f) => f.severity === 'error' || (f.field === 'kind' && f.kind !== ''))
    .map((f) => (f.severity === 'error' ? f : { ...f, severity: 'error' as const, message: `${f.message} apply stores only kinds meshbridge reads.` }));
  const seen = new Map<string, ConfigObject>();
  for (const o of loaded.objects) {
    const key = objectKey(o);
    const first = seen.get(key);
    if (first) {
      refused.push({ severity: 'error', file: o.origin.file, line: o.origin.line, column: o.origin.column, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, field: '', message: `${key} is also at ${first.origin.file}:${first.origin.line}: apply each object once.` });
    }
    seen.set(key, o);
  }
  return { objects: loaded.objects, refused };
}

export async function runApply(o: ApplyOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { objects, refused } = await admitFiles(o.files);
  if (refused.length > 0) {
    for (const f of refused) err.write(`${formatFinding(f, 'error')}\n`);
    err.write(`refused: ${refused.length} error${refused.length === 1 ? '' : 's'}; nothing was applied\n`);
    return 1;
  }
  if (objects.length === 0) {
    err.write('meshbridge: no objects to apply\n');
    return 1;
  }
  const s = await openCliStore(o.store);
  try {
    requireSharedStore(s, 'apply');
    for (let attempt = 0; attempt < 5; attempt++) {
      let current: (ConfigObject | undefined)[];
      try {
        current = await Promise.all(objects.map((x) => s.store.get(refOf(x))));
      } catch (e) {
        if (e instanceof StoreUnavailableError) throw new StoreUnreachable(e.message);
        throw e;
      }
      const ops: WriteOp[] = [];
      const outcomes: Outcome[] = [];
      for (const [i, x] of objects.entries()) {
        const cur = current[i];
        const { resourceVersion: given, ...meta } = x.metadata;
        if (!cur) {
          ops.push({ op: 'create', object: { ...x, metadata: meta } as ConfigObject });
          outcomes.push('created');
          continue;
        }
        const object = { ...x, metadata: { ...meta, resourceVersion: given ?? cur.metadata.resourceVersion } } as ConfigObject;
        const plan = planWrite({ op: 'update', object }, cur, i, { now: new Date().toISOString(), newUid: randomUUID });
        ops.push({ op: 'update', object });
        outcomes.push(plan.ok && !plan.changed ? 'unchanged' : 'configured');
      }
      const r = await s.store.write(ops);
      if (r.ok) {
        for (const [i, x] of objects.entries()) out.write(`${qualifiedKind(x.kind, x.apiVersion)}/${x.metadata.name} ${outcomes[i] ?? 'configured'}\n`);
        return 0;
      }
      const f = r.failure;
      const x = f.index !== undefined ? objects[f.index] : undefined;
      const raced = x !== undefined && x.metadata.resourceVersion === undefined && (f.code === 'Conflict' || f.code === 'AlreadyExists' || f.code === 'NotFound');
      if (raced) continue; // another writer came in between: read again
      const where = x ? `${x.origin.file}:${x.origin.line}:${x.origin.column}: ` : '';
      switch (f.code) {
        case 'Conflict':
          err.write(`${where}Error from server (Conflict): ${f.message}\nnothing was applied\n`);
          return 1;
        case 'Unavailable':
          throw new StoreUnreachable(`${s.store.description}: ${f.message}`);
        default:
          err.write(`${where}Error from server (${f.code}): ${f.message}\nnothing was applied\n`);
          return 1;
      }
    }
    err.write(`Error from server (Conflict): the objects kept changing while being applied (${objects.map((x) => describeRef(refOf(x))).join(', ')}); nothing was applied\n`);
    return 1;
  } finally {
    await s.close();
  }
}

/**
 * `apply` as a function of a store (the CLI's `apply`, the tests' and benchmarks' bursts):
 * every object becomes one op of one transaction, conditioned on the version just read, so the
 * apply lands on exactly the state it compared with, all or nothing. Objects that carry
 * `metadata.resourceVersion` must still be at that version (else `Conflict`); objects without one
 * are applied over whatever is there, and a race with another writer is read again and retried.
 */
import { randomUUID } from 'node:crypto';
import { refOf, type ConfigStore, type WriteFailure, type WriteOp } from '../model/config/store.js';
import { planWrite } from '../model/config/store-writes.js';
import type { ConfigObject } from '../model/config/types.js';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export type ApplyResult =
  | { readonly ok: true; readonly outcomes: readonly ApplyOutcome[]; readonly revision: string }
  | { readonly ok: false; readonly failure: WriteFailure; readonly object?: ConfigObject };

/**
 * Applies `objects` (distinct, admitted) in one transaction. Reads reject with StoreUnavailableError.
 * `dryRun` (kubectl's `--dry-run=server`): the same reads, plans and admission, and nothing written;
 * the outcomes are what the write would have done, the revision the one read.
 */
export async function applyObjects(store: ConfigStore, objects: readonly ConfigObject[], attempts = 5, options: { readonly dryRun?: boolean } = {}): Promise<ApplyResult> {
  let last: ApplyResult | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const current = await Promise.all(objects.map((x) => store.get(refOf(x))));
    const ops: WriteOp[] = [];
    const outcomes: ApplyOutcome[] = [];
    for (const [i, x] of objects.entries()) {
      const cur = current[i];
      const { resourceVersion: given, ...meta } = x.metadata;
      if (!cur) {
        const op: WriteOp = { op: 'create', object: { ...x, metadata: meta } as ConfigObject };
        const plan = options.dryRun === true ? planWrite(op, undefined, i, { now: new Date().toISOString(), newUid: randomUUID }) : undefined;
        if (plan !== undefined && !plan.ok) return { ok: false, failure: plan.failure, object: x };
        ops.push(op);
        outcomes.push('created');
        continue;
      }
      const object = { ...x, metadata: { ...meta, resourceVersion: given ?? cur.metadata.resourceVersion } } as ConfigObject;
      const plan = planWrite({ op: 'update', object }, cur, i, { now: new Date().toISOString(), newUid: randomUUID });
      if (options.dryRun === true && !plan.ok) return { ok: false, failure: plan.failure, object: x };
      ops.push({ op: 'update', object });
      outcomes.push(plan.ok && !plan.changed ? 'unchanged' : 'configured');
    }
    if (options.dryRun === true) return { ok: true, outcomes, revision: '' };
    const r = await store.write(ops);
    if (r.ok) return { ok: true, outcomes, revision: r.revision };
    const object = r.failure.index !== undefined ? objects[r.failure.index] : undefined;
    last = { ok: false, failure: r.failure, ...(object ? { object } : {}) };
    const raced = object !== undefined && object.metadata.resourceVersion === undefined && ['Conflict', 'AlreadyExists', 'NotFound'].includes(r.failure.code);
    if (!raced) return last;
  }
  return last ?? { ok: false, failure: { code: 'Conflict', message: 'not attempted', retryable: false } };
}

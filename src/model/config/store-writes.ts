/**
 * The write semantics of the store port, as pure functions every implementation shares: given the
 * stored object (or none) and one op, what is stored next, or why the op fails. Implementations
 * add only the storage (and the resource version: the revision of the write).
 *
 * Admission on write: every object that would be stored is validated as `validate` would (errors
 * refuse it, with field paths; the CLI adds file positions before it writes).
 */
import { deepEqual } from '../../lib/krt/equal.js';
import { fromDocument, toDocument } from './document.js';
import { describeRef, refKey, refOf, type ObjectRef, type WriteFailure, type WriteOp } from './store.js';
import type { ConfigObject } from './types.js';

export type PlannedWrite =
  | {
      readonly ok: true;
      readonly ref: ObjectRef;
      /** What to store; undefined deletes. */
      readonly next: ConfigObject | undefined;
      /** False when the stored document stays the same (no write, no new revision for it). */
      readonly changed: boolean;
    }
  | { readonly ok: false; readonly failure: WriteFailure };

export interface WriteContext {
  /** Now, RFC 3339, for creationTimestamp. */
  readonly now: string;
  readonly newUid: () => string;
}

export function opRef(op: WriteOp): ObjectRef {
  return op.op === 'create' || op.op === 'update' ? refOf(op.object) : op.ref;
}

function fail(code: WriteFailure['code'], message: string, index: number, extra: Partial<WriteFailure> = {}): PlannedWrite {
  return { ok: false, failure: { code, message, index, retryable: code === 'Unavailable', ...extra } };
}

function conflict(ref: ObjectRef, wanted: string, current: ConfigObject, index: number): PlannedWrite {
  return fail(
    'Conflict',
    `${describeRef(ref)} has been modified: the write was for resourceVersion ${wanted}, the store has ${current.metadata.resourceVersion ?? '?'}; get it again and reapply your change`,
    index,
    { current },
  );
}

/** Validates an object as it would be stored; a failure carries the findings. */
export function admit(o: ConfigObject, index: number): WriteFailure | undefined {
  const decoded = fromDocument(toDocument(o, { resourceVersion: false }), refKey(refOf(o)), o.origin);
  if (decoded.ok) return undefined;
  const findings = decoded.findings.map((f) => ({ field: f.field, message: f.message }));
  return {
    code: 'Invalid',
    message: `${describeRef(refOf(o))} is invalid: ${findings.map((f) => (f.field ? `${f.field}: ${f.message}` : f.message)).join('; ')}`,
    index,
    findings,
    retryable: false,
  };
}

/** The stored form of an object: what `toDocument` keeps, without the resource version. */
export function sameStored(a: ConfigObject, b: ConfigObject): boolean {
  return deepEqual(toDocument(a, { resourceVersion: false }), toDocument(b, { resourceVersion: false }));
}

/** Plans one op against the stored object `current` (undefined: absent). */
export function planWrite(op: WriteOp, current: ConfigObject | undefined, index: number, ctx: WriteContext): PlannedWrite {
  const ref = opRef(op);
  const precondition = op.op === 'update' ? op.object.metadata.resourceVersion : op.op === 'create' ? undefined : op.resourceVersion;
  if (op.op === 'create') {
    if (current) return fail('AlreadyExists', `${describeRef(ref)} already exists`, index, { current });
  } else {
    if (!current) return fail('NotFound', `${describeRef(ref)} not found`, index);
    if (precondition !== undefined && precondition !== current.metadata.resourceVersion) return conflict(ref, precondition, current, index);
  }
  switch (op.op) {
    case 'create': {
      const { resourceVersion: _rv, ...meta } = op.object.metadata;
      const next = {
        ...op.object,
        metadata: { ...meta, creationTimestamp: meta.creationTimestamp ?? ctx.now, uid: meta.uid ?? ctx.newUid(), generation: 1 },
      } as ConfigObject;
      const invalid = admit(next, index);
      return invalid ? { ok: false, failure: invalid } : { ok: true, ref, next, changed: true };
    }
    case 'update': {
      const cur = current as ConfigObject;
      const specChanged = !deepEqual(cur.spec, op.object.spec);
      const next = {
        ...cur,
        apiVersion: op.object.apiVersion,
        metadata: {
          ...cur.metadata,
          labels: op.object.metadata.labels,
          annotations: op.object.metadata.annotations,
          // An object without a generation (a config folder's) keeps none while its spec is unchanged.
          ...(cur.metadata.generation !== undefined || specChanged ? { generation: (cur.metadata.generation ?? 1) + (specChanged ? 1 : 0) } : {}),
        },
        spec: op.object.spec,
      } as ConfigObject;
      const invalid = admit(next, index);
      return invalid ? { ok: false, failure: invalid } : { ok: true, ref, next, changed: !sameStored(cur, next) };
    }
    case 'updateStatus': {
      const cur = current as ConfigObject;
      const { status: _old, ...rest } = cur as ConfigObject & { status?: unknown };
      const next = (op.status === undefined ? rest : { ...rest, status: op.status }) as ConfigObject;
      const invalid = admit(next, index);
      return invalid ? { ok: false, failure: invalid } : { ok: true, ref, next, changed: !sameStored(cur, next) };
    }
    case 'delete':
      return { ok: true, ref, next: undefined, changed: true };
  }
}

/** Checks that a transaction names each object once. */
export function duplicateRef(ops: readonly WriteOp[]): WriteFailure | undefined {
  const seen = new Set<string>();
  for (const [i, op] of ops.entries()) {
    const key = refKey(opRef(op));
    if (seen.has(key)) return { code: 'Invalid', message: `${key} appears twice in one transaction`, index: i, retryable: false };
    seen.add(key);
  }
  return undefined;
}

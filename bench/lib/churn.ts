/**
 * Churn of endpoint changes on the churn pool's entries: weight, health, labels (selection), remove
 * and add. Each change says what an affected proxy must see once it has it, so the load generator
 * can recognise the change by content (a unique weight, or the endpoint appearing / disappearing).
 */
import { clusterName, entryAddress, serviceOfWorkload, SERVICE_PORT, writeEntry, type EntryState, type MeshShape } from './config-gen.js';

export type ChurnOp = 'weight' | 'health-off' | 'health-on' | 'labels-off' | 'labels-on' | 'remove' | 'add';

/** Every entry steps through this cycle, so states always come back (40 % weight, 20 % health, 20 % labels, 10 % remove, 10 % add). */
export const CHURN_CYCLE: readonly ChurnOp[] = ['weight', 'health-off', 'health-on', 'weight', 'labels-off', 'labels-on', 'weight', 'remove', 'add', 'weight'];

/** What a proxy subscribed to `cluster` must see for the change to have reached it. */
export interface Expectation {
  readonly cluster: string;
  /** `address:port` */
  readonly endpoint: string;
  readonly present: boolean;
  /** When present: the endpoint's load-balancing weight. */
  readonly weight?: number;
}

export interface Change {
  readonly id: number;
  readonly op: ChurnOp;
  readonly entry: number;
  readonly service: number;
  readonly expect: Expectation;
}

let nextWeight = 2;
/** Unique weights (2, 3, ...) so that a weight identifies one change. */
function uniqueWeight(): number {
  nextWeight = nextWeight >= 1_000_000 ? 2 : nextWeight + 1;
  return nextWeight;
}

/** Applies `op` to `st` (mutated) and returns the expectation; does not write the file. */
export function applyOp(shape: MeshShape, st: EntryState, op: ChurnOp): Expectation {
  switch (op) {
    case 'weight':
      st.weight = uniqueWeight();
      break;
    case 'health-off':
      st.healthy = false;
      break;
    case 'health-on':
      st.healthy = true;
      break;
    case 'labels-off':
      st.selected = false;
      break;
    case 'labels-on':
      st.selected = true;
      break;
    case 'remove':
      st.exists = false;
      break;
    case 'add':
      st.exists = true;
      break;
  }
  const present = st.exists && st.healthy && st.selected;
  return {
    cluster: clusterName(shape, serviceOfWorkload(shape, st.index)),
    endpoint: `${entryAddress(st.index)}:${SERVICE_PORT}`,
    present,
    ...(present ? { weight: st.weight } : {}),
  };
}

/** Round-robin over the pool; each entry walks CHURN_CYCLE. */
export class Churner {
  #next = 0;
  #id = 0;
  readonly #steps: number[];
  constructor(
    private readonly dir: string,
    private readonly shape: MeshShape,
    private readonly pool: EntryState[],
    private readonly ops: readonly ChurnOp[] = CHURN_CYCLE,
  ) {
    this.#steps = pool.map(() => 0);
  }

  /** The next change (state updated, file not yet written). */
  next(): { change: Change; write: () => void } {
    const k = this.#next++ % this.pool.length;
    const st = this.pool[k] as EntryState;
    const step = this.#steps[k] ?? 0;
    this.#steps[k] = step + 1;
    const op = this.ops[step % this.ops.length] as ChurnOp;
    const expect = applyOp(this.shape, st, op);
    const change: Change = { id: ++this.#id, op, entry: st.index, service: serviceOfWorkload(this.shape, st.index), expect };
    return { change, write: () => writeEntry(this.dir, this.shape, st) };
  }
}

/**
 * Replicas of one in-process test: an implementation of the lifecycle's Coordination port over a
 * shared set of live instances and a leader, for several RegistrationControllers on one store.
 */
import type { Coordination, CoordinationEvent, Leadership } from '../../src/lifecycle/coordination.js';

/** Replicas of one test: who is alive (as their sessions would say) and who leads. */
export class Peers {
  readonly live = new Set<string>();
  leader = '';
  coordination(instance: string): Coordination {
    this.live.add(instance);
    return {
      instance,
      leadership: (): Leadership | undefined => (this.leader === instance ? {} : undefined),
      isLive: (other) => this.live.has(other),
      confirmLive: (other) => Promise.resolve(this.live.has(other)),
      subscribe: (_listener: (e: CoordinationEvent) => void) => () => undefined,
    };
  }
}

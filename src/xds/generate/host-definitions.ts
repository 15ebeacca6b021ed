/**
 * What changed about the hosts of a push, as a view-wide ("shared") generator part that reads the
 * services can see it: a service's definition (everything but its endpoints), and which workloads
 * back it. The Envoy generator's shared part (outbound listeners and routes, inbound listeners of the
 * view's own workloads) reads nothing else of the services, so an endpoint change that keeps both
 * (a weight, a health flip) needs no shared regeneration.
 *
 * Measured cause (bench S6, quick: 200 Envoy sidecars, 100 services): every endpoint change
 * regenerated every Envoy class in full (61% of the control plane's CPU, 2.3 CPU s per change).
 */
import type { MergedService } from '../../model/mesh/types.js';

interface HostState {
  /** The definitions of every service of the host, endpoints left out. */
  readonly definition: string;
  /** The workloads (endpoint sources) behind the host. */
  readonly sources: ReadonlySet<string>;
}

export interface HostChanges {
  /** Some host's definition changed (or a host appeared or went): every shared part is stale. */
  readonly definitions: boolean;
  /** Workloads that joined or left a host: shared parts of views owning one of them are stale. */
  readonly sources: ReadonlySet<string>;
}

export class HostDefinitions {
  readonly #hosts = new Map<string, HostState>();
  #seeded = false;

  constructor(private readonly servicesOf: (host: string) => readonly MergedService[]) {}

  /**
   * Records every host as it is now, once (later calls do nothing). Call it when the first view that
   * needs `changes` is generated: before, there is nothing to compare with, and every host would
   * count as new.
   */
  seed(services: readonly MergedService[]): void {
    if (this.#seeded) return;
    this.#seeded = true;
    const byHost = new Map<string, MergedService[]>();
    for (const s of services) {
      const list = byHost.get(s.host);
      if (list === undefined) byHost.set(s.host, [s]);
      else list.push(s);
    }
    for (const [host, list] of byHost) this.#hosts.set(host, stateOf(list));
  }

  /**
   * Compares the dirty hosts with what they were at the last call (or the seed), and remembers them
   * as they are now. Before the seed every host counts as changed.
   */
  changes(hosts: Iterable<string>): HostChanges {
    if (!this.#seeded) return { definitions: true, sources: new Set() };
    let definitions = false;
    const sources = new Set<string>();
    for (const host of hosts) {
      const before = this.#hosts.get(host);
      const now = stateOf(this.servicesOf(host));
      if (now.definition === '') this.#hosts.delete(host);
      else this.#hosts.set(host, now);
      if (before === undefined || before.definition !== now.definition) definitions = true;
      for (const s of now.sources) if (!before?.sources.has(s)) sources.add(s);
      for (const s of before?.sources ?? []) if (!now.sources.has(s)) sources.add(s);
    }
    return { definitions, sources };
  }
}

/** Whether a shared part of a view owning `ownWorkloads` is stale after `changes`. */
export function sharedPartStale(changes: HostChanges, ownWorkloads: readonly string[]): boolean {
  return changes.definitions || ownWorkloads.some((k) => changes.sources.has(k));
}

function stateOf(services: readonly MergedService[]): HostState {
  const sorted = [...services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const sources = new Set<string>();
  const definitions = sorted.map((s) => {
    for (const e of s.endpoints) sources.add(e.source);
    const { endpoints: _endpoints, bundles: _bundles, ...definition } = s;
    return definition;
  });
  return { definition: sorted.length === 0 ? '' : JSON.stringify(definitions), sources };
}

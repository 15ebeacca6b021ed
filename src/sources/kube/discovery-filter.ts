/**
 * MeshConfig `discoverySelectors` (Istio's semantics): a list of Kubernetes label selectors over
 * namespaces, ORed; within one selector `matchLabels` and `matchExpressions` are ANDed; an empty
 * selector `{}` selects every namespace; no selectors (absent or `[]`) discover every namespace, also
 * namespaces whose Namespace object has not been read. Namespaces themselves are always read (the
 * system namespace's network label must be seen); only the namespaced collections (Pods, Services,
 * EndpointSlices) are limited.
 *
 * Pure: the cluster source feeds it namespace events and selector changes, and each call says which
 * namespaces entered or left discovery, so the objects already read there are added or removed at once.
 */
import type { LabelSelector, LabelSelectorRequirement, StringMap } from '../../model/config/types.js';

/** Whether `labels` satisfy one requirement (metav1 LabelSelectorRequirement). */
function requirementMatches(r: LabelSelectorRequirement, labels: StringMap): boolean {
  const value = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    default:
      // An unknown operator (refused by validation) selects nothing, as LabelSelectorAsSelector's error does.
      return false;
  }
}

/** Whether one label selector selects `labels`. */
export function labelSelectorMatches(selector: LabelSelector, labels: StringMap): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  return (selector.matchExpressions ?? []).every((r) => requirementMatches(r, labels));
}

export interface DiscoveryChange {
  /** Namespaces now discovered that were not. */
  readonly entered: readonly string[];
  /** Namespaces no longer discovered. */
  readonly left: readonly string[];
}

const NO_CHANGE: DiscoveryChange = { entered: [], left: [] };

export class DiscoveryFilter {
  private readonly namespaceLabels = new Map<string, StringMap>();
  private selectors: readonly LabelSelector[] = [];

  constructor(selectors: readonly LabelSelector[] = []) {
    this.selectors = selectors;
  }

  /** Whether the objects of `namespace` are read. */
  discovers(namespace: string): boolean {
    if (this.selectors.length === 0) return true;
    const labels = this.namespaceLabels.get(namespace);
    return labels !== undefined && this.selectors.some((s) => labelSelectorMatches(s, labels));
  }

  /** A Namespace added, changed (`labels`) or deleted (`undefined`). */
  namespace(name: string, labels: StringMap | undefined): DiscoveryChange {
    const before = this.discovers(name);
    if (labels === undefined) this.namespaceLabels.delete(name);
    else this.namespaceLabels.set(name, labels);
    const after = this.discovers(name);
    if (before === after) return NO_CHANGE;
    return after ? { entered: [name], left: [] } : { entered: [], left: [name] };
  }

  /**
   * New selectors (MeshConfig changed): which of the read namespaces and of `held` (the namespaces
   * of the objects the caller holds, some maybe without a Namespace object) entered or left.
   */
  setSelectors(selectors: readonly LabelSelector[], held: Iterable<string>): DiscoveryChange {
    if (JSON.stringify(selectors) === JSON.stringify(this.selectors)) return NO_CHANGE;
    const all = [...new Set([...this.namespaceLabels.keys(), ...held])].sort();
    const before = new Set(all.filter((n) => this.discovers(n)));
    this.selectors = selectors;
    const after = new Set(all.filter((n) => this.discovers(n)));
    return { entered: all.filter((n) => !before.has(n) && after.has(n)), left: all.filter((n) => before.has(n) && !after.has(n)) };
  }
}

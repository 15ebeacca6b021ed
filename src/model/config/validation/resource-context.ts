/** What every kind validator knows about the resource besides its body. */
import type { JsonObject, Problems } from './json.js';

export interface ValidationOptions {
  /**
   * PILOT_ENABLE_IP_AUTOALLOCATE: whether Istio's v2 address auto-allocation is on (A-V2-1). It is
   * on by default; it decides the V-SE-8 warning.
   */
  readonly ipAutoAllocation?: boolean;
}

export interface ResourceContext {
  readonly kind: string;
  /** metadata.name, or '' when missing or invalid (already reported). */
  readonly name: string;
  /** metadata.namespace, or 'default' when none is given (cli-contract). */
  readonly namespace: string;
  /** metadata.labels whose values are strings. */
  readonly labels: ReadonlyMap<string, string>;
  /** metadata.annotations whose values are strings. */
  readonly annotations: ReadonlyMap<string, string>;
  readonly ipAutoAllocation: boolean;
}

/** Validates the body of one resource of a known kind; reports into `out`, never throws. */
export type KindValidator = (resource: JsonObject, context: ResourceContext, out: Problems) => void;

import type { MeshShape } from '../lib/config-gen.js';
import { met, type Machine, type Row } from '../lib/report.js';
import { values, type Headline, type Values } from '../lib/runs.js';

export interface Ctx {
  readonly quick: boolean;
  readonly mode: 'quick' | 'full';
  /** The command that reproduces this run (written to the docs). */
  readonly command: string;
  /** Profile the control plane (`node --cpu-prof`) into this folder. */
  readonly profileDir: string | undefined;
  /** A configuration variant (`--variant policies`: DestinationRules and VirtualServices in many namespaces), for the scenarios that take one. */
  readonly variant: Variant | undefined;
  readonly machine: Machine;
  readonly date: string;
  log: (line: string) => void;
}

/** Configuration variants (bench/lib/config-gen.ts). */
export type Variant = 'policies';
export const VARIANTS: readonly Variant[] = ['policies'];

/** The rows and console lines of a scenario, built from the values of one run or the medians of several. */
export interface Rendered {
  readonly rows: readonly Row[];
  readonly summary: readonly string[];
}

export interface ScenarioOutput {
  /** Table id in docs/benchmarks.md (S1..S6). */
  readonly id: string;
  readonly json: Record<string, unknown>;
  readonly header: readonly string[];
  readonly rows: readonly Row[];
  /** One-line verdicts for the console summary. */
  readonly summary: readonly string[];
  /**
   * Set when the run is invalid (a proxy never synced, a change missed a subscribed proxy, a floor push
   * did not arrive): its row is written, the bench exits non-zero.
   */
  readonly failed?: string;
  /**
   * Repeatable scenarios (`--runs N`): this run's headline numbers, and the row builder the runner calls
   * with the medians and spreads of every run (`rows` and `summary` above are `render` of this run alone).
   */
  readonly repeat?: { readonly headline: Headline; readonly render: (v: Values) => Rendered };
}

export interface Scenario {
  /** The ids it produces (S3 also measures S5 in the same run). */
  readonly ids: readonly string[];
  readonly title: string;
  /** Run `--runs N` times and reported as median and spread (S2–S6); otherwise run once. */
  readonly repeatable?: boolean;
  /** Takes `--variant` (otherwise skipped when one is given). */
  readonly variants?: readonly Variant[];
  run(ctx: Ctx): Promise<ScenarioOutput[]>;
}

/** A repeatable scenario's output: rows and summary of this run alone, and the renderer for several. */
export function repeatableOutput(o: { id: string; json: Record<string, unknown>; header: readonly string[]; headline: Headline; failures: readonly string[]; render: (v: Values) => Rendered }): ScenarioOutput {
  const { rows, summary } = o.render(values([o.headline]));
  return {
    id: o.id,
    json: { ...o.json, headline: o.headline, failures: o.failures },
    header: o.header,
    rows,
    summary,
    ...(o.failures.length > 0 ? { failed: o.failures.join('; ') } : {}),
    repeat: { headline: o.headline, render: o.render },
  };
}

/** The mesh of a scenario under the run's variant (`policies`: two services per namespace get a DestinationRule and a VirtualService). */
export function applyVariant<T extends MeshShape>(shape: T, variant: Variant | undefined): T {
  return variant === 'policies' ? { ...shape, policiesPerNamespace: 2 } : shape;
}

/** A row's key: the mode, and the variant when there is one (`quick · policies`). */
export function rowKey(ctx: Ctx, suffix = ''): string {
  return `${ctx.mode}${suffix}${ctx.variant !== undefined ? ` · ${ctx.variant}` : ''}`;
}

/** The `met?` cell: quick runs say at which scale they were judged. */
export function metCell(ctx: Ctx, ok: boolean, quickNote = 'quick: 1/10 scale'): string {
  return ctx.quick ? `(${quickNote}) ${met(ok)}` : met(ok);
}

/** The last three cells of every row: command, date, machine. */
export function provenance(ctx: Ctx): string[] {
  return [`\`${ctx.command}\``, ctx.date, `${ctx.machine.cores} vCPU`];
}

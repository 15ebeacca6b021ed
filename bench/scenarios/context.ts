import type { Machine, Row } from '../lib/report.js';

export interface Ctx {
  readonly quick: boolean;
  readonly mode: 'quick' | 'full';
  /** The command that reproduces this run (written to the docs). */
  readonly command: string;
  /** Profile the control plane (`node --cpu-prof`) into this folder. */
  readonly profileDir: string | undefined;
  readonly machine: Machine;
  readonly date: string;
  log: (line: string) => void;
}

export interface ScenarioOutput {
  /** Table id in docs/benchmarks.md (S1..S6). */
  readonly id: string;
  readonly json: Record<string, unknown>;
  readonly header: readonly string[];
  readonly rows: readonly Row[];
  /** One-line verdicts for the console summary. */
  readonly summary: readonly string[];
  /** Set when the run is invalid (e.g. a proxy never synced): its row is written, the bench exits non-zero. */
  readonly failed?: string;
}

export interface Scenario {
  /** The ids it produces (S3 also measures S5 in the same run). */
  readonly ids: readonly string[];
  readonly title: string;
  run(ctx: Ctx): Promise<ScenarioOutput[]>;
}

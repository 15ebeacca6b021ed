/**
 * The bench's main loop: each selected scenario run once, or `runs` times when it is repeatable (S2–S6),
 * its rows rendered from the medians and spreads of its runs, and the verdict: the exit code is non-zero
 * when any run of any scenario failed (threw, or reported a failure such as a proxy that did not sync or
 * a change that missed a subscribed proxy). Effects (results, docs, machine load) are injected so that
 * the rule is tested without a machine (test/bench/runner.test.ts).
 */
import type { Ctx, Scenario, ScenarioOutput } from '../scenarios/context.js';
import type { Row } from './report.js';
import { values } from './runs.js';
import { now } from './time.js';

export interface RunnerOptions {
  /** Runs of a repeatable scenario (quick default 1, full default 3). */
  readonly runs: number;
  readonly only: ReadonlySet<string> | undefined;
  /** Appended to every row key (`--label`). */
  readonly label: string | undefined;
}

export interface RunnerEffects {
  /** Before each scenario (e.g. `--wait-quiet`). */
  beforeScenario?(): Promise<void>;
  /** Measures the cores other processes used around a run; the largest over the runs ends every row's last cell. */
  measureLoad(): () => { readonly otherCores: number; readonly json: unknown };
  /** Stores one run's JSON; returns where. */
  writeResult(id: string, data: Record<string, unknown>): string;
  /** Writes a scenario's rows to the docs (a no-op with `--no-docs`). */
  updateDocs(id: string, header: readonly string[], rows: readonly Row[]): void;
}

export interface RunnerResult {
  readonly exitCode: number;
  readonly summary: readonly string[];
  /** Failures, one line each (`S2 run 2/3: 1 of 2000 proxies did not sync`). */
  readonly failures: readonly string[];
}

/** The selected scenarios in order; a `--variant` keeps only those that take it. */
export function selected(scenarios: readonly Scenario[], only: ReadonlySet<string> | undefined, variant: string | undefined): Scenario[] {
  return scenarios.filter((sc) => (only === undefined || sc.ids.some((id) => only.has(id))) && (variant === undefined || (sc.variants ?? []).some((v) => v === variant)));
}

function withLoad(rows: readonly Row[], label: string | undefined, loadText: string): Row[] {
  return rows.map((r) => ({
    key: label !== undefined ? `${r.key} · ${label}` : r.key,
    // The last cell says how busy the machine was with other work during the run.
    cells: [...r.cells.slice(0, -1), `${r.cells[r.cells.length - 1] ?? ''}; ${loadText}`],
  }));
}

/** The outputs of every run of one scenario, merged per table id: rows of the medians and spreads. */
export function mergeRuns(runs: readonly (readonly ScenarioOutput[])[]): ScenarioOutput[] {
  const last = runs[runs.length - 1] ?? [];
  return last.map((out) => {
    const all = runs.map((r) => r.find((o) => o.id === out.id)).filter((o): o is ScenarioOutput => o !== undefined);
    const failed = all.map((o, k) => (o.failed !== undefined ? `run ${k + 1}/${runs.length}: ${o.failed}` : undefined)).filter((f): f is string => f !== undefined);
    const headlines = all.map((o) => o.repeat?.headline).filter((h) => h !== undefined);
    const rendered = out.repeat !== undefined && headlines.length === all.length ? out.repeat.render(values(headlines)) : { rows: out.rows, summary: out.summary };
    return {
      ...out,
      json: { runs: all.map((o) => o.json) },
      rows: rendered.rows,
      summary: rendered.summary,
      ...(failed.length > 0 ? { failed: failed.join('; ') } : {}),
    };
  });
}

export async function runScenarios(scenarios: readonly Scenario[], ctx: Ctx, o: RunnerOptions, fx: RunnerEffects): Promise<RunnerResult> {
  const summary: string[] = [];
  const failures: string[] = [];
  const t0 = now();
  if (ctx.variant !== undefined) {
    const skipped = selected(scenarios, o.only, undefined).filter((sc) => !(sc.variants ?? []).some((v) => v === ctx.variant));
    if (skipped.length > 0) ctx.log(`variant ${ctx.variant}: skipping ${skipped.map((sc) => sc.ids.join('+')).join(', ')} (no such variant)`);
  }
  for (const sc of selected(scenarios, o.only, ctx.variant)) {
    const runs = sc.repeatable === true ? Math.max(1, o.runs) : 1;
    ctx.log(`\n== ${sc.ids.join(' + ')} ${sc.title}${runs > 1 ? ` (${runs} runs)` : ''}`);
    const ts = now();
    const outputs: ScenarioOutput[][] = [];
    let otherCores = 0;
    for (let k = 0; k < runs; k++) {
      if (runs > 1) ctx.log(`  -- run ${k + 1}/${runs}`);
      await fx.beforeScenario?.();
      const stop = fx.measureLoad();
      try {
        const out = await sc.run(ctx);
        const load = stop();
        otherCores = Math.max(otherCores, load.otherCores);
        ctx.log(`  machine: other processes used ${load.otherCores} cores`);
        for (const each of out) ctx.log(`  ${each.id} run ${k + 1} → ${fx.writeResult(each.id, { ...each.json, run: k + 1, runs, background: load.json })}`);
        outputs.push(out);
      } catch (e) {
        stop();
        failures.push(`${sc.ids.join('+')} run ${k + 1}/${runs}: ${e instanceof Error ? e.message : String(e)}`);
        ctx.log(`  FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
    const loadText = runs > 1 ? `others ≤ ${otherCores} cores` : `others ${otherCores} cores`;
    for (const out of mergeRuns(outputs)) {
      fx.updateDocs(out.id, out.header, withLoad(out.rows, o.label, loadText));
      summary.push(...out.summary);
      if (out.failed !== undefined) {
        failures.push(`${out.id}: ${out.failed}`);
        ctx.log(`  ${out.id} FAILED: ${out.failed}`);
      }
    }
    ctx.log(`  (${Math.round((now() - ts) / 1000)} s)`);
  }
  ctx.log(`\n== summary (${Math.round((now() - t0) / 1000)} s)`);
  for (const line of summary) ctx.log(`  ${line}`);
  for (const line of failures) ctx.log(`  FAILED ${line}`);
  return { exitCode: failures.length > 0 ? 1 : 0, summary, failures };
}

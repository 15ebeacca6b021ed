/**
 * The architecture rules of `npm run lint` (.dependency-cruiser.cjs: no import cycles, the layer
 * order of the README's architecture section) fire: dependency-cruiser with the project's rules
 * passes a fixture that keeps them and fails one with an upward import and a cycle, naming each.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = 'test/fixtures/architecture';

/** Runs the lint's dependency-cruiser with the project's rules on one fixture folder, as `npm run lint` runs it. */
function cruise(folder: string): { status: number | null; report: string } {
  const bin = `${root}node_modules/dependency-cruiser/bin/dependency-cruise.mjs`;
  const r = spawnSync(process.execPath, [bin, '--config', `${FIXTURES}/dependency-cruiser.cjs`, `${FIXTURES}/${folder}`], { cwd: root, encoding: 'utf8' });
  // One line per violation, paths relative to the fixture folder (a cycle is printed over several lines).
  const report = r.stdout.replaceAll(`${FIXTURES}/${folder}/`, '').replace(/ →\s+/g, ' → ').trim();
  return { status: r.status, report };
}

test('a lower layer importing a higher one, and an import cycle, fail the architecture lint with the rule named', () => {
  const r = cruise('violations');
  assert.equal(r.status, 2, r.report);
  assert.deepEqual(r.report.split('\n').filter((l) => l.trim().startsWith('error ')).map((l) => l.trim()).sort(), [
    'error layer-order:gen+lib: src/lib/upward.ts → src/app/wiring.ts',
    'error no-circular: src/model/ping.ts → src/model/pong.ts → src/model/ping.ts',
  ]);
});

test('imports down the layers without cycles pass the architecture lint', () => {
  const r = cruise('clean');
  assert.equal(r.status, 0, r.report);
  assert.match(r.report, /no dependency violations found \(2 modules, 1 dependencies cruised\)/);
});

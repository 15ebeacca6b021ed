/**
 * Issue 13: the README's command examples cannot drift. Every ```sh block marked `runnable` is run
 * command by command in the project folder against the examples folder; every block marked
 * `runnable-with-serve` against a serve started on the examples (its state in a temp folder) with a
 * real proxyless gRPC client (`client.vm-demo`) connected, the README's default HTTP address
 * replaced by the test's. Each command must exit 0 and print something, and none may write into the
 * repository (no `examples.state/`). `npm start` serves the examples with its state in the OS temp
 * folder, not in the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, PROJECT_ROOT } from './support/paths.js';
import { cleanups, startServe, waitFor } from './e2e/serve-process.js';
import { XdsClientChild } from './xds/fixtures/client-process.js';

/** The commands of the README's blocks marked `marker`: continuation lines joined, comments dropped. */
export function readmeCommands(readme: string, marker: 'runnable' | 'runnable-with-serve'): string[] {
  const out: string[] = [];
  for (const m of readme.matchAll(/^```sh ([a-z-]+)\n([\s\S]*?)^```$/gm)) {
    if (m[1] !== marker) continue;
    const joined = (m[2] ?? '').replace(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const command = line.replace(/\s+#.*$/, '').trim();
      if (command !== '' && !command.startsWith('#')) out.push(command);
    }
  }
  return out;
}

function runShell(command: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', command], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const STATE_BESIDE_EXAMPLES = `${EXAMPLES}.state`;

test('the README has runnable examples of both kinds', () => {
  assert.ok(readmeCommands(README, 'runnable').length >= 6);
  assert.ok(readmeCommands(README, 'runnable-with-serve').length >= 5);
});

test('README: every runnable example runs against the examples folder', () => {
  for (const command of readmeCommands(README, 'runnable')) {
    const r = runShell(command);
    assert.equal(r.code, 0, `${command}\n${r.stderr}`);
    assert.notEqual(r.stdout, '', command);
  }
  assert.equal(existsSync(STATE_BESIDE_EXAMPLES), false, 'nothing written into the repository');
});

test('README: every runnable-with-serve example runs against a started serve with a client connected', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const state = mkdtempSync(join(tmpdir(), 'mb-readme-state-'));
  own(state, (dir) => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  const serve = await startServe({ dir: EXAMPLES, args: ['--state-dir', state] });
  own(serve, (x) => x.stop());
  const client = new XdsClientChild({
    target: 'xds:///svc1.internal.com:80',
    xdsServer: serve.xds,
    nodeId: 'proxyless~127.0.9.1~client.vm-demo~vm-demo.svc.cluster.local',
    metadata: { GENERATOR: 'grpc', NAMESPACE: 'vm-demo' },
    lifetimeMs: 150_000,
  });
  own(client, (x) => x.stop());
  await client.ready(30_000);
  // The example backends are not running: the call fails, but the client subscribes on the way.
  await client.send({ op: 'call', count: 1, deadlineMs: 3000 }, 15_000);
  await waitFor(async () => ((await serve.syncz()).some((p) => p.name === 'client.vm-demo' && p.types.some((ty) => ty.type === 'EDS' && ty.state === 'SYNCED')) ? true : undefined), 15_000, 'client.vm-demo SYNCED');
  for (const command of readmeCommands(README, 'runnable-with-serve')) {
    const r = runShell(command.replaceAll('127.0.0.1:15014', serve.http));
    assert.equal(r.code, 0, `${command}\n${r.stderr}`);
    assert.notEqual(r.stdout, '', command);
  }
  assert.equal(existsSync(STATE_BESIDE_EXAMPLES), false, 'nothing written into the repository');
});

test('npm start serves the examples with its state in the OS temp folder, not in the repository', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts', 'start.mjs'), '--xds-address', '127.0.0.1:0', '--secure-xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0'], { cwd: PROJECT_ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => (/http listening on /.test(stdout) ? true : undefined), 30_000, `npm start to serve\n${stderr}`);
    // The last line is the dashboard's URL, on serve's HTTP port, and the dashboard answers there.
    const dashboard = await waitFor(() => /\ndashboard: (http:\/\/\S+\/ui\/)\n$/.exec(stdout)?.[1], 30_000, `the dashboard's URL as the last line\n${stdout}`);
    assert.equal(dashboard, `http://${/http listening on (\S+)/.exec(stdout)?.[1] ?? ''}/ui/`);
    const page = await fetch(dashboard);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app"><\/div>/);
    const stateDir = join(tmpdir(), 'meshbridge-examples.state');
    assert.match(stderr, new RegExp(`serving examples/ \\(state in ${stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    assert.equal(existsSync(stateDir), true);
    assert.equal(existsSync(STATE_BESIDE_EXAMPLES), false, 'no examples.state/ in the repository');
    const scripts = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.equal(scripts['start'], 'node scripts/start.mjs');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

// The agent installs like a package: `npm pack` gives a tarball whose `meshbridge` program runs after
// `npm install -g --prefix` on a machine with only Node (dependencies from the registry, or npm's
// cache), and `agent install --dry-run` prints the systemd unit from there. The project is already
// built (npm test builds first), so the pack skips the prepare script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../support/paths.js';

const run = promisify(execFile);

test('npm pack → npm install -g --prefix → meshbridge --help and agent install --dry-run run from the install', { timeout: 300_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'meshbridge-pack-'));
  try {
    await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: PROJECT_ROOT });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    const prefix = join(work, 'prefix');
    await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], { cwd: work, maxBuffer: 16 << 20 });
    const bin = join(prefix, 'bin', 'meshbridge');
    assert.ok(statSync(bin).isFile() || statSync(bin).isSymbolicLink());
    const help = await run(bin, ['--help'], { cwd: work });
    assert.match(help.stdout, /Usage: meshbridge/);
    assert.match(help.stdout, /agent/);
    const bootstrap = join(work, 'vm-bootstrap');
    mkdirSync(bootstrap);
    writeFileSync(join(bootstrap, 'meshbridge-agent.json'), '{}\n');
    const dry = await run(bin, ['agent', 'install', '--bootstrap', bootstrap, '--dry-run'], { cwd: work });
    assert.match(dry.stdout, /^# dry run: nothing is changed/m);
    assert.match(dry.stdout, /^User=meshbridge-agent$/m);
    assert.match(dry.stdout, /^Restart=on-failure$/m);
    assert.match(dry.stdout, new RegExp(`^ExecStart=\\S+ \\S*${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S*/bin/meshbridge agent --bootstrap ${bootstrap}$`, 'm'));
    assert.equal(statSync(bootstrap).mode & 0o777, 0o777 & ~process.umask(), 'a dry run changes nothing');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

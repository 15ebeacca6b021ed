#!/usr/bin/env node
// `npm start`: serves the bundled example mesh (examples/) with serve's default addresses, keeping
// its state (registered workloads, status, the CA) in the OS temp folder, not in the repository.
// Extra arguments go to `serve` (`npm start -- --http-address 127.0.0.1:16014`).
// serve's start-up lines are passed through; the last one printed is the dashboard's URL
// (`dashboard: http://HOST:PORT/ui/`), on serve's HTTP port (docs/dashboard.md).
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stateDir = join(tmpdir(), 'meshbridge-examples.state');
process.stderr.write(`meshbridge: serving examples/ (state in ${stateDir}); try ./bin/meshbridge proxy-status or ./bin/meshbridge endpoints --server http://127.0.0.1:15014 in another terminal; Ctrl-C stops\n`);
const child = spawn(process.execPath, [join(root, 'bin', 'meshbridge'), 'serve', '--config', join(root, 'examples'), '--state-dir', stateDir, ...process.argv.slice(2)], { stdio: ['inherit', 'pipe', 'inherit'] });
let pending = '';
let http;
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk) => {
  pending += chunk;
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    process.stdout.write(`${line}\n`);
    const listening = /^http listening on (\S+)/.exec(line);
    if (listening) http = listening[1].replace(/^(0\.0\.0\.0|\[::\]):/, '127.0.0.1:');
    // "state in ..." is serve's last start-up line: the dashboard's URL goes last.
    if (line.startsWith('state in ') && http !== undefined) process.stdout.write(`dashboard: http://${http}/ui/\n`);
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal !== null ? 1 : 0)));

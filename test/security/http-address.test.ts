/**
 * Issue 11 item 8 (first half), with the real CLI process: the metrics and debug endpoints are
 * plaintext and unauthenticated (/debug/endpointz shows every namespace's endpoints), so
 * `--http-address` on a non-loopback address is refused unless `--insecure-http` is given, as the
 * plaintext xDS port is without `--insecure-xds`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../e2e/serve-process.js';

const BASE = ['serve', '--config', '/nonexistent-meshbridge-config', '--xds-address', '127.0.0.1:0', '--secure-xds-address', '127.0.0.1:0'];

for (const address of ['0.0.0.0:15014', '[::]:15014', '192.0.2.10:15014']) {
  test(`--http-address ${address} is refused with exit 2 and one sentence`, { timeout: 30_000 }, async () => {
    const r = await runCli([...BASE, '--http-address', address], 20_000);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', new RegExp(`^meshbridge: --http-address ${address.replace(/[.[\]]/g, '\\$&')} is not a loopback address: the metrics and debug endpoints are plaintext, unauthenticated and show every namespace's configuration and endpoints; keep them on loopback, or pass --insecure-http to serve them there anyway$`));
    assert.equal(r.stdout, '', 'nothing listened');
  });
}

test('--insecure-http lifts the refusal (serve goes on to read its configuration); loopback needs no flag', { timeout: 90_000 }, async () => {
  for (const args of [['--http-address', '0.0.0.0:15014', '--insecure-http'], ['--http-address', '127.0.0.5:0'], ['--http-address', 'localhost:0']]) {
    const r = await runCli([...BASE, ...args], 20_000);
    assert.doesNotMatch(r.stderr, /--http-address/, args.join(' '));
    assert.match(r.stderr, /cannot read \/nonexistent-meshbridge-config/, 'the next check is reached');
  }
});

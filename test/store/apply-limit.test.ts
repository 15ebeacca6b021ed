/**
 * Issue 16 item 3, `apply` of more than 128 objects: every object of an apply is one compare and one
 * put of a single etcd transaction (all or nothing), and etcd allows `--max-txn-ops` (default 128)
 * operations per transaction. On a default etcd, `apply` of 150 objects is refused with the limit
 * named and how to raise it, and nothing is written; on an etcd started with `--max-txn-ops 1000`
 * the same apply lands in one transaction (one revision for all 150 objects).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../e2e/serve-process.js';
import { startEtcd } from '../support/etcd.js';

const OBJECTS = 150;

function manyServiceEntries(dir: string): string {
  const docs = Array.from({ length: OBJECTS }, (_, i) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-${i}, namespace: bulk}
spec: {hosts: [svc-${i}.bulk.example], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], endpoints: [{address: 127.0.44.${(i % 250) + 1}}]}
`);
  const file = join(dir, 'bulk.yaml');
  writeFileSync(file, docs.join('---\n'));
  return file;
}

test(`apply of ${OBJECTS} objects: refused on a default etcd naming --max-txn-ops and how to raise it, nothing written; one transaction once etcd allows it`, { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-apply-limit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = manyServiceEntries(dir);

  const small = await startEtcd(1);
  t.after(() => small.stop());
  const refused = await runCli(['apply', '-f', file, '--store', small.url], 30_000);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`etcd refused one transaction of ${OBJECTS} objects \\(${OBJECTS} operations\\): etcd allows at most --max-txn-ops operations per transaction \\(default 128\\)`));
  assert.match(refused.stderr, /Raise the limit on every etcd member \(etcd --max-txn-ops=256\), or apply the objects in smaller parts/);
  assert.match(refused.stderr, /nothing was applied/);
  const none = await runCli(['get', 'se', '-n', 'bulk', '-o', 'json', '--store', small.url], 30_000);
  assert.equal(none.code, 0, none.stderr);
  assert.equal((JSON.parse(none.stdout) as { items: unknown[] }).items.length, 0, 'nothing was written');

  const large = await startEtcd(1, { extraArgs: ['--max-txn-ops', '1000'] });
  t.after(() => large.stop());
  const applied = await runCli(['apply', '-f', file, '--store', large.url], 30_000);
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal(applied.stdout.trim().split('\n').filter((l) => l.endsWith(' created')).length, OBJECTS);
  const listed = await runCli(['get', 'se', '-n', 'bulk', '-o', 'json', '--store', large.url], 30_000);
  const items = (JSON.parse(listed.stdout) as { items: { metadata: { resourceVersion: string } }[] }).items;
  assert.equal(items.length, OBJECTS);
  assert.equal(new Set(items.map((x) => x.metadata.resourceVersion)).size, 1, 'every object written by the same transaction (one revision)');
});

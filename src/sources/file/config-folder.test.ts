import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFolderSource } from './config-folder.js';

const we = (name: string, address: string) =>
  `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: ${name}, namespace: ns1}\nspec: {address: "${address}"}\n`;

function touch(path: string, text: string, t: number): void {
  writeFileSync(path, text);
  utimesSync(path, t, t); // distinct mtimes even within one clock tick
}

test('a refused edit keeps the last good version of the file and reports its position', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  const file = join(dir, 'a.yaml');
  touch(file, we('vm1', '1.1.1.1'), 1000);
  const src = new ConfigFolderSource([dir]);
  const first = await src.load();
  assert.equal(first.snapshot.objects.length, 1);

  touch(file, `${we('vm1', '2.2.2.2')}---\nkind: [broken\n`, 2000);
  const second = await src.reload();
  assert.deepEqual(second.rejected, [file]);
  const kept = second.snapshot.objects[0];
  assert.equal(kept?.kind === 'WorkloadEntry' ? kept.spec.address : '', '1.1.1.1');
  assert.ok(second.snapshot.findings.some((f) => f.severity === 'error' && f.file === file && f.line >= 4));
  assert.equal(second.snapshot.files[0]?.rejected, true);

  touch(file, we('vm1', '3.3.3.3'), 3000);
  const third = await src.reload();
  assert.deepEqual(third.applied, [file]);
  const fixed = third.snapshot.objects[0];
  assert.equal(fixed?.kind === 'WorkloadEntry' ? fixed.spec.address : '', '3.3.3.3');
  assert.equal(third.snapshot.findings.length, 0);
  rmSync(dir, { recursive: true });
});

test('creation order is stable across reloads; moving a document does not change the object', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  touch(join(dir, 'b.yaml'), `${we('vm1', '1.1.1.1')}---\n${we('vm2', '2.2.2.2')}`, 1000);
  const src = new ConfigFolderSource([dir]);
  const a = (await src.load()).snapshot.objects;
  touch(join(dir, 'a.yaml'), we('vm0', '9.9.9.9'), 2000);
  touch(join(dir, 'b.yaml'), `# a comment that moves everything down\n\n${we('vm1', '1.1.1.1')}---\n${we('vm2', '2.2.2.2')}`, 2000);
  const b = (await src.reload()).snapshot.objects;
  const byName = (list: typeof a, n: string) => list.find((o) => o.metadata.name === n);
  assert.equal(byName(b, 'vm1'), byName(a, 'vm1'), 'same instance: only its position moved');
  assert.equal(byName(b, 'vm2')?.origin.order, 1);
  assert.equal(byName(b, 'vm0')?.origin.order, 2, 'a new object is younger, whatever its file name');
  rmSync(dir, { recursive: true });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFolderSource, type ReloadReport } from './config-folder.js';
import { lastGoodVersionsIn } from './last-good.js';

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

test('a reload reports exactly the changed file\'s objects (added, replaced, removed), not the others', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  touch(join(dir, 'bulk.yaml'), Array.from({ length: 50 }, (_, i) => we(`bulk${i}`, `10.0.0.${i}`)).join('---\n'), 1000);
  touch(join(dir, 'one.yaml'), `${we('vm1', '1.1.1.1')}---\n${we('vm2', '2.2.2.2')}`, 1000);
  const src = new ConfigFolderSource([dir]);
  const first = await src.load();
  assert.equal(first.changes.size, 52, 'the first load adds everything');
  assert.equal(first.objectCount, 52);

  touch(join(dir, 'one.yaml'), `${we('vm1', '1.1.1.9')}---\n${we('vm3', '3.3.3.3')}`, 2000);
  const second = await src.reload();
  assert.deepEqual([...second.changes.keys()].sort(), ['WorkloadEntry/ns1/vm1', 'WorkloadEntry/ns1/vm2', 'WorkloadEntry/ns1/vm3']);
  const vm1 = second.changes.get('WorkloadEntry/ns1/vm1');
  assert.equal(vm1?.kind === 'WorkloadEntry' ? vm1.spec.address : '', '1.1.1.9');
  assert.equal(second.changes.get('WorkloadEntry/ns1/vm2'), undefined, 'vm2 left the file: removed');
  assert.equal(second.changes.get('WorkloadEntry/ns1/vm3')?.metadata.name, 'vm3');
  assert.equal(second.objectCount, 52);

  rmSync(join(dir, 'one.yaml'));
  const third = await src.reload();
  assert.deepEqual([...third.changes.entries()].sort(), [['WorkloadEntry/ns1/vm1', undefined], ['WorkloadEntry/ns1/vm3', undefined]]);
  assert.equal(third.objectCount, 50);
  rmSync(dir, { recursive: true });
});

test('a key held by two files is served from the file sorting last; removing it falls back to the other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  touch(join(dir, 'a.yaml'), we('vm1', '1.1.1.1'), 1000);
  touch(join(dir, 'b.yaml'), we('vm1', '2.2.2.2'), 1000);
  const src = new ConfigFolderSource([dir]);
  const address = (o: unknown): string => ((o as { spec?: { address?: string } } | undefined)?.spec?.address ?? '');
  const first = await src.load();
  assert.equal(address(first.changes.get('WorkloadEntry/ns1/vm1')), '2.2.2.2');
  assert.equal(address(new Map(first.snapshot.objects.map((o) => [o.metadata.name, o])).get('vm1')), '2.2.2.2', 'same as reading every file in path order');

  touch(join(dir, 'a.yaml'), we('vm1', '1.1.1.5'), 2000);
  assert.equal((await src.reload()).changes.size, 0, 'the hidden copy changed: nothing served changes');

  rmSync(join(dir, 'b.yaml'));
  assert.equal(address((await src.reload()).changes.get('WorkloadEntry/ns1/vm1')), '1.1.1.5');
  rmSync(dir, { recursive: true });
});

test('a refused edit changes nothing served', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  touch(join(dir, 'a.yaml'), we('vm1', '1.1.1.1'), 1000);
  const src = new ConfigFolderSource([dir]);
  await src.load();
  touch(join(dir, 'a.yaml'), `${we('vm1', '2.2.2.2')}---\nkind: [broken\n`, 2000);
  const r = await src.reload();
  assert.deepEqual(r.rejected, [join(dir, 'a.yaml')]);
  assert.equal(r.changes.size, 0);
  rmSync(dir, { recursive: true });
});

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not met in ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('watching: an edit re-reads only the named file; new and removed folders are followed', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  mkdirSync(join(dir, 'ns1'));
  for (let i = 0; i < 10; i++) touch(join(dir, 'ns1', `f${i}.yaml`), we(`vm${i}`, `10.0.0.${i}`), 1000);
  const src = new ConfigFolderSource([dir]);
  await src.load();
  const reports: ReloadReport[] = [];
  const errors: unknown[] = [];
  src.watch((r) => reports.push(r), (e) => errors.push(e), 20);
  const served = () => src.snapshot().objects.map((o) => o.metadata.name).sort();
  try {
    writeFileSync(join(dir, 'ns1', 'f3.yaml'), we('vm3', '10.9.9.9'));
    await until(() => reports.some((r) => r.changes.has('WorkloadEntry/ns1/vm3')), 'the edit is seen');
    const edit = reports.find((r) => r.changes.has('WorkloadEntry/ns1/vm3'));
    assert.equal(edit?.examined, 1, 'only the named file was looked at, not the 10');
    assert.deepEqual(edit?.applied, [join(dir, 'ns1', 'f3.yaml')]);

    mkdirSync(join(dir, 'ns2'));
    writeFileSync(join(dir, 'ns2', 'g.yaml'), we('new1', '10.1.1.1'));
    await until(() => served().includes('new1'), 'a file in a new folder is read');
    writeFileSync(join(dir, 'ns2', 'g.yaml'), we('new1', '10.1.1.2'));
    await until(() => reports.some((r) => {
      const o = r.changes.get('WorkloadEntry/ns1/new1');
      return o?.kind === 'WorkloadEntry' && o.spec.address === '10.1.1.2';
    }), 'the new folder is watched');

    rmSync(join(dir, 'ns1', 'f0.yaml'));
    await until(() => !served().includes('vm0'), 'a removed file is removed');
    rmSync(join(dir, 'ns2'), { recursive: true });
    await until(() => !served().includes('new1'), 'a removed folder takes its files');
    writeFileSync(join(dir, '.hidden.yaml'), we('hidden', '10.2.2.2'));
    writeFileSync(join(dir, 'ns1', 'f1.yaml'), we('vm1', '10.3.3.3'));
    await until(() => reports.some((r) => r.changes.has('WorkloadEntry/ns1/vm1')), 'a later edit');
    assert.ok(!served().includes('hidden'), 'hidden files are never read');
    assert.deepEqual(errors, []);
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watching: a Kubernetes ConfigMap volume update (files linked through a swapped hidden ..data link) is read', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  mkdirSync(join(dir, '..2026_1'));
  writeFileSync(join(dir, '..2026_1', 'a.yaml'), we('vm1', '10.0.0.1'));
  symlinkSync('..2026_1', join(dir, '..data'));
  symlinkSync(join('..data', 'a.yaml'), join(dir, 'a.yaml'));
  const src = new ConfigFolderSource([dir]);
  await src.load();
  const address = (): string => {
    const o = src.snapshot().objects[0];
    return o?.kind === 'WorkloadEntry' ? (o.spec.address ?? '') : '';
  };
  assert.equal(address(), '10.0.0.1');
  const errors: unknown[] = [];
  src.watch(() => undefined, (e) => errors.push(e), 20);
  try {
    mkdirSync(join(dir, '..2026_2'));
    writeFileSync(join(dir, '..2026_2', 'a.yaml'), we('vm1', '10.0.0.2'));
    symlinkSync('..2026_2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await until(() => address() === '10.0.0.2', 'the swapped content is read');
    assert.deepEqual(errors, []);
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watching: a file named explicitly beside its own folder does not hide the folder\'s other changes', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  const explicit = join(dir, 'a.yaml');
  writeFileSync(explicit, we('vm1', '10.0.0.1'));
  writeFileSync(join(dir, 'b.yaml'), we('vm2', '10.0.0.2'));
  const src = new ConfigFolderSource([explicit, dir]);
  await src.load();
  const reports: ReloadReport[] = [];
  src.watch((r) => reports.push(r), () => undefined, 20);
  try {
    writeFileSync(join(dir, 'b.yaml'), we('vm2', '10.0.0.3'));
    await until(() => reports.some((r) => r.changes.has('WorkloadEntry/ns1/vm2')), 'the folder\'s file');
    writeFileSync(explicit, we('vm1', '10.0.0.4'));
    await until(() => reports.some((r) => r.changes.has('WorkloadEntry/ns1/vm1')), 'the explicit file');
  } finally {
    src.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('issue 13: the last good version of a file is kept in the state directory and served after a restart', async () => {
  const root = mkdtempSync(join(tmpdir(), 'mb-src-'));
  const dir = join(root, 'cfg');
  mkdirSync(dir);
  const lastGood = lastGoodVersionsIn(join(root, 'cfg.state'));
  const file = join(dir, 'a.yaml');
  const good = `${we('vm1', '1.1.1.1')}---\n${we('vm2', '2.2.2.2')}`;
  touch(file, good, 1000);
  await new ConfigFolderSource([dir], lastGood).load();
  assert.equal(lastGood.get(file), good);

  // Edited while serve is down: vm2 becomes invalid. A restart serves the last good version, refused.
  touch(file, `${we('vm1', '1.1.1.1')}---\n${we('vm2', 'not an address')}`, 2000);
  const restarted = await new ConfigFolderSource([dir], lastGood).load();
  assert.deepEqual(restarted.rejected, [file]);
  assert.deepEqual(restarted.snapshot.objects.map((o) => (o.kind === 'WorkloadEntry' ? `${o.metadata.name}=${o.spec.address}` : '')), ['vm1=1.1.1.1', 'vm2=2.2.2.2']);
  assert.equal(restarted.snapshot.files[0]?.rejected, true);
  assert.ok(restarted.snapshot.findings.some((f) => f.severity === 'error' && f.name === 'vm2'));
  assert.equal(lastGood.get(file), good, 'a refused version is never kept');

  // Without a kept version (no state directory): the valid objects only, as before.
  const plain = await new ConfigFolderSource([dir]).load();
  assert.deepEqual(plain.snapshot.objects.map((o) => o.metadata.name), ['vm1']);
  assert.deepEqual(plain.rejected, []);

  // A fix is kept; a removed file takes its kept version with it.
  const src = new ConfigFolderSource([dir], lastGood);
  await src.load();
  touch(file, we('vm3', '3.3.3.3'), 3000);
  await src.reload();
  assert.equal(lastGood.get(file), we('vm3', '3.3.3.3'));
  rmSync(file);
  await src.reload();
  assert.equal(lastGood.get(file), undefined);
  rmSync(root, { recursive: true });
});

test('issue 13: an object defined in two files is reported as a duplicate with both places (the later path is served)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-src-'));
  touch(join(dir, 'a.yaml'), we('vm1', '1.1.1.1'), 1000);
  touch(join(dir, 'b.yaml'), `# the same object again\n${we('vm1', '2.2.2.2')}`, 1000);
  touch(join(dir, 'c.yaml'), we('vm2', '3.3.3.3'), 1000);
  const src = new ConfigFolderSource([dir]);
  const first = await src.load();
  assert.deepEqual(first.duplicates, [{ key: 'WorkloadEntry/ns1/vm1', places: [`${join(dir, 'a.yaml')}:1`, `${join(dir, 'b.yaml')}:2`] }]);
  const served = first.snapshot.objects.find((o) => o.metadata.name === 'vm1' && o.origin.file.endsWith('b.yaml'));
  assert.ok(served);
  touch(join(dir, 'c.yaml'), we('vm2', '3.3.3.4'), 2000);
  assert.deepEqual((await src.reload()).duplicates, [], 'only the objects a reload touched are reported');
  rmSync(dir, { recursive: true });
});

const policy = (name: string, action: string, rules: string) =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: ns1}\nspec:\n  selector: {matchLabels: {app: svc}}\n  action: ${action}\n  rules: ${rules}\n`;
const served = (r: ReloadReport) =>
  r.snapshot.objects.filter((o) => o.kind === 'AuthorizationPolicy').map((o) => `${o.metadata.name}:${o.kind === 'AuthorizationPolicy' ? `${o.spec.action ?? 'ALLOW'}${JSON.stringify(o.spec.rules ?? [])}` : ''}${o.metadata.annotations['meshbridge.io/invalid'] !== undefined ? ':invalid' : ''}`);

test('issue 11: a DENY policy added invalid while serving denies at once (its fail-closed substitute); a refused edit of a served one keeps its last good version; an invalid ALLOW adds nothing', async () => {
  const root = mkdtempSync(join(tmpdir(), 'mb-src-'));
  const dir = join(root, 'cfg');
  mkdirSync(dir);
  const lastGood = lastGoodVersionsIn(join(root, 'cfg.state'));
  const file = join(dir, 'a.yaml');
  touch(file, we('vm1', '1.1.1.1'), 1000);
  const src = new ConfigFolderSource([dir], lastGood);
  await src.load();

  // A new DENY with an unknown field in its rule: the file is refused, yet the policy denies all.
  const badDeny = policy('deny-x', 'DENY', '[{from: [{source: {principalz: [x]}}]}]');
  touch(file, `${we('vm1', '1.1.1.1')}---\n${badDeny}`, 2000);
  const added = await src.reload();
  assert.deepEqual(added.rejected, [file]);
  assert.deepEqual(served(added), ['deny-x:DENY[{}]:invalid']);
  assert.ok(added.changes.has('AuthorizationPolicy/ns1/deny-x'), 'pushed as a change');

  // After a restart with the last good version kept (which lacks the policy): it still denies.
  const restarted = await new ConfigFolderSource([dir], lastGood).load();
  assert.deepEqual(served(restarted), ['deny-x:DENY[{}]:invalid']);

  // A valid DENY, then a refused edit of it: the last good DENY stays as it was.
  const goodDeny = policy('deny-x', 'DENY', '[{from: [{source: {principals: [x]}}]}]');
  touch(file, `${we('vm1', '1.1.1.1')}---\n${goodDeny}`, 3000);
  await src.reload();
  touch(file, `${we('vm1', '1.1.1.1')}---\n${badDeny}`, 4000);
  const edited = await src.reload();
  assert.deepEqual(edited.rejected, [file]);
  assert.deepEqual(served(edited), ['deny-x:DENY[{"from":[{"source":{"principals":["x"]}}]}]']);
  assert.equal(edited.changes.size, 0);

  // A new invalid ALLOW policy: refused, nothing added (a refused edit takes no traffic away).
  touch(file, `${we('vm1', '1.1.1.1')}---\n${goodDeny}---\n${policy('allow-y', 'ALLOW', '[{from: [{source: {principalz: [y]}}]}]')}`, 5000);
  const allow = await src.reload();
  assert.deepEqual(served(allow), ['deny-x:DENY[{"from":[{"source":{"principals":["x"]}}]}]']);
  rmSync(root, { recursive: true });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { configStoreConformance, we } from '../../../test/conformance/config-store.js';
import { toDocument } from '../../model/config/document.js';
import type { Listing, StoreEvent } from '../../model/config/store.js';
import type { WorkloadEntry } from '../../model/config/types.js';
import { FileStore } from './file-store.js';

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'mb-filestore-'));
  return { root, folder: join(root, 'config'), stateDir: join(root, 'config.state') };
}

configStoreConformance('file', async () => {
  const { root, folder, stateDir } = dirs();
  mkdirSync(folder);
  const store = new FileStore({ paths: [folder], stateDir });
  await store.start();
  return {
    store,
    other: store,
    seedsReadOnly: true,
    seed: async (objects) => {
      writeFileSync(join(folder, 'seed.yaml'), objects.map((o) => stringify(toDocument(o))).join('---\n'));
      await store.reload();
    },
    forgetHistory: () => Promise.resolve(store.compact()),
    cleanup: async () => {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
});

test('file store: registered entries and status overlays of folder entries survive a restart; the folder itself is never written', async () => {
  const { root, folder, stateDir } = dirs();
  mkdirSync(folder);
  const yaml = 'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: op, namespace: ns1}\nspec: {address: 127.0.9.9}\n';
  writeFileSync(join(folder, 'we.yaml'), yaml);
  try {
    const a = new FileStore({ paths: [folder], stateDir });
    await a.start();
    const created = await a.write([{ op: 'create', object: we('vm-1', '127.0.9.1') }]);
    assert.ok(created.ok);
    const status = { conditions: [{ type: 'Healthy', status: 'True' }] };
    assert.ok((await a.write([{ op: 'updateStatus', ref: { kind: 'WorkloadEntry', namespace: 'ns1', name: 'op' }, status }])).ok);
    await a.close();
    const b = new FileStore({ paths: [folder], stateDir });
    await b.start();
    const listed = await b.list();
    assert.deepEqual(listed.objects.map((o) => o.metadata.name).sort(), ['op', 'vm-1']);
    assert.deepEqual((b.current('WorkloadEntry/ns1/op') as WorkloadEntry).status, status);
    assert.equal(b.current('WorkloadEntry/ns1/op')?.origin.file, join(folder, 'we.yaml'));
    assert.ok(Number(listed.revision) >= Number(created.revision), 'revisions do not go back after a restart');
    await b.close();
    assert.equal(readFileSync(join(folder, 'we.yaml'), 'utf8'), yaml);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('file store: a one-file edit reaches watchers as a change of that file\'s objects only', async () => {
  const { root, folder } = dirs();
  mkdirSync(folder);
  const doc = (name: string, address: string) => `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: ${name}, namespace: ns1}\nspec: {address: ${address}}\n`;
  writeFileSync(join(folder, 'bulk.yaml'), Array.from({ length: 20 }, (_, i) => doc(`bulk${i}`, `127.0.8.${i + 1}`)).join('---\n'));
  writeFileSync(join(folder, 'one.yaml'), doc('vm1', '127.0.9.1'));
  const store = new FileStore({ paths: [folder] });
  try {
    await store.start();
    const listed = await store.list();
    assert.equal(listed.objects.length, 21);
    const events: StoreEvent[] = [];
    const watch = store.watch(listed.revision, (e) => events.push(e));
    writeFileSync(join(folder, 'one.yaml'), `${doc('vm1', '127.0.9.2')}---\n${doc('vm2', '127.0.9.3')}`);
    await store.reload();
    await new Promise((resolve) => setImmediate(resolve));
    const changes = events.flatMap((e) => (e.type === 'changes' ? e.changes : []));
    assert.deepEqual(changes.map((c) => (c.type === 'put' ? `put ${c.object.metadata.name}` : `delete ${c.key}`)).sort(), ['put vm1', 'put vm2']);
    assert.equal((store.current('WorkloadEntry/ns1/vm1') as WorkloadEntry).spec.address, '127.0.9.2');
    writeFileSync(join(folder, 'one.yaml'), doc('vm2', '127.0.9.3'));
    await store.reload();
    await new Promise((resolve) => setImmediate(resolve));
    const second = events.slice(1).flatMap((e) => (e.type === 'changes' ? e.changes : []));
    assert.deepEqual(second.map((c) => (c.type === 'put' ? `put ${c.object.metadata.name}` : `delete ${c.key}`)), ['delete WorkloadEntry/ns1/vm1']);
    assert.equal(store.current('WorkloadEntry/ns1/bulk3')?.metadata.name, 'bulk3');
    await watch.close();
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
});

const workloadEntryYaml = (name: string, address: string): string =>
  `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: ${name}, namespace: ns1}\nspec: {address: ${address}}\n`;

interface WatchedFolder {
  readonly store: FileStore;
  readonly folder: string;
  readonly listed: Listing;
  /** Every event since the listing. */
  readonly events: StoreEvent[];
  /** Re-reads the folder and lets the watch deliver. */
  readonly reload: () => Promise<void>;
}

/** A started file store (no state directory) on a new folder holding `files`, watched from its listing; removed after `run`. */
async function withWatchedFolder(files: Readonly<Record<string, string>>, run: (f: WatchedFolder) => Promise<void>): Promise<void> {
  const { root, folder } = dirs();
  mkdirSync(folder);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  const store = new FileStore({ paths: [folder] });
  try {
    await store.start();
    const listed = await store.list();
    const events: StoreEvent[] = [];
    const watch = store.watch(listed.revision, (e) => events.push(e));
    const reload = async (): Promise<void> => {
      await store.reload();
      await new Promise((resolve) => setImmediate(resolve));
    };
    await run({ store, folder, listed, events, reload });
    await watch.close();
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

test('file store: each reload reaches watchers as its changes, then its files report; a listing carries the last report', async () => {
  await withWatchedFolder({ 'one.yaml': workloadEntryYaml('vm1', '127.0.9.1') }, async ({ store, folder, listed, events, reload }) => {
    const file = join(folder, 'one.yaml');
    assert.deepEqual(listed.files?.files.map((f) => [f.path, f.rejected, f.objects.length]), [[file, false, 1]]);
    assert.deepEqual(listed.files?.applied, [file]);
    writeFileSync(file, workloadEntryYaml('vm1', '127.0.9.2'));
    await reload();
    writeFileSync(file, `${workloadEntryYaml('vm1', '127.0.9.3')}  ports: {http: oops}\n`);
    await reload();
    assert.deepEqual(events.map((e) => e.type), ['changes', 'files', 'files'], 'the refused edit changes nothing: a report only');
    const refused = events[2]?.type === 'files' ? events[2].report : undefined;
    assert.deepEqual(refused?.rejected, [file]);
    assert.equal(refused?.files[0]?.rejected, true);
    assert.ok(refused?.findings.some((f) => f.severity === 'error' && f.file === file));
    assert.equal((store.current('WorkloadEntry/ns1/vm1') as WorkloadEntry).spec.address, '127.0.9.2', 'the last good version is served');
    assert.deepEqual((await store.list()).files?.rejected, [file]);
  });
});

test('file store: an object moved unchanged to another file is no change; writes to it name the file that serves it now', async () => {
  const doc = workloadEntryYaml('vm1', '127.0.9.1');
  await withWatchedFolder({ 'a.yaml': doc }, async ({ store, folder, events, reload }) => {
    writeFileSync(join(folder, 'b.yaml'), `# moved here\n${doc}`);
    rmSync(join(folder, 'a.yaml'));
    await reload();
    assert.deepEqual(events.map((e) => e.type), ['files'], 'no store change');
    const stored = store.current('WorkloadEntry/ns1/vm1');
    assert.ok(stored !== undefined);
    const update = await store.write([{ op: 'update', object: stored }]);
    assert.ok(!update.ok && update.failure.code === 'ReadOnly' && update.failure.message.includes(join(folder, 'b.yaml')), JSON.stringify(update));
  });
});

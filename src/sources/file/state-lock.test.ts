import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireStateLock, LOCK_FILE_NAME, processStartTicks, StateDirLocked, type LockOwner } from './state-lock.js';

function withDir(fn: (dir: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'mb-lock-'));
  try {
    fn(join(root, 'cfg.state'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function writeOwner(dir: string, owner: Partial<LockOwner> | string): void {
  writeFileSync(join(dir, LOCK_FILE_NAME), typeof owner === 'string' ? owner : JSON.stringify(owner));
}

test('state lock: held by a live process, a second acquire is refused naming its pid; release frees it', () => {
  withDir((dir) => {
    const lock = acquireStateLock(dir, 'one');
    const held = JSON.parse(readFileSync(lock.file, 'utf8')) as LockOwner;
    assert.equal(held.pid, process.pid);
    assert.equal(held.instance, 'one');
    assert.throws(
      () => acquireStateLock(dir, 'two'),
      (e: unknown) => e instanceof StateDirLocked && e.owner.pid === process.pid && e.message.includes(`is in use by another serve (pid ${process.pid}, started `),
    );
    lock.release();
    assert.equal(existsSync(lock.file), false);
    acquireStateLock(dir).release();
  });
});

test('state lock: a lock of a process that is gone, of a reused pid, or unreadable is stale and taken over', () => {
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  assert.ok(dead !== undefined);
  const ticks = processStartTicks(process.pid);
  const stale: (Partial<LockOwner> | string)[] = [
    { pid: dead, startedAt: '2026-01-01T00:00:00.000Z', host: hostname() },
    // This process's pid, but another start time: the pid was reused.
    ...(ticks !== undefined ? [{ pid: process.pid, startedAt: '2026-01-01T00:00:00.000Z', startTicks: `${ticks}1`, host: hostname() }] : []),
    'not json',
  ];
  for (const owner of stale) {
    withDir((dir) => {
      mkdirSync(dir);
      writeOwner(dir, owner);
      const lock = acquireStateLock(dir);
      assert.equal((JSON.parse(readFileSync(lock.file, 'utf8')) as LockOwner).pid, process.pid, JSON.stringify(owner));
      lock.release();
    });
  }
});

test('state lock: release leaves another owner\'s lock alone; a directory the lock created goes again while empty', () => {
  withDir((dir) => {
    const lock = acquireStateLock(dir);
    writeOwner(dir, { pid: 1, startedAt: 'x', host: 'elsewhere' });
    lock.release();
    assert.ok(existsSync(lock.file), 'not ours any more: kept');
    assert.throws(() => acquireStateLock(dir), /pid 1 on host elsewhere/);
  });
  withDir((dir) => {
    acquireStateLock(dir).release();
    assert.equal(existsSync(dir), false);
  });
});

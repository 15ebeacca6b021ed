/**
 * One writer per state directory (issue 13): `serve` on the file store holds `<stateDir>/serve.lock`
 * for as long as it runs. The lock file holds the owner's pid, its process start time and host, so
 * a lock left behind by a process that crashed (or was killed) is recognised as stale and taken
 * over: a lock is live only while a process with that pid and that start time runs (a reused pid
 * has another start time).
 *
 * Atomicity: the lock file appears complete or not at all (written to a private temporary file,
 * then hard-linked to its name, which fails when the name exists: O_EXCL semantics with the content
 * in place). A stale lock is moved aside by rename (atomic; only one process wins it), and the moved
 * file is compared with the stale content that was judged: if another process replaced the stale
 * lock with its live one in between, that one is put back. Two processes racing for a stale lock
 * therefore end with one owner.
 *
 * A state directory the lock created is removed again on release while it is empty (a refused
 * start leaves nothing behind).
 */
import { existsSync, linkSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { makePrivateDir } from '../../lib/fs/modes.js';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE_NAME = 'serve.lock';

/** What the lock file holds (JSON). */
export interface LockOwner {
  readonly pid: number;
  /** When the owner started (ISO 8601), for people. */
  readonly startedAt: string;
  /** Linux: the process start time in clock ticks since boot (/proc/PID/stat field 22); tells a reused pid apart. */
  readonly startTicks?: string;
  readonly host: string;
  readonly instance?: string;
}

/** The state directory is held by another live process. */
export class StateDirLocked extends Error {
  constructor(
    readonly stateDir: string,
    readonly owner: LockOwner,
  ) {
    const where = owner.host !== hostname() ? ` on host ${owner.host}` : '';
    super(
      `the state directory ${stateDir} is in use by another serve (pid ${owner.pid}${where}, started ${owner.startedAt}); ` +
        `stop that process first, or give this one another --state-dir`,
    );
  }
}

export interface StateLock {
  readonly file: string;
  /** Removes the lock file if it is still this process's. */
  release(): void;
}

/** The start time of a process in clock ticks since boot (Linux), or undefined when unknown. */
export function processStartTicks(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 of the whole line
}

/** Whether the lock's owner still runs. A lock of another host cannot be checked: it counts as live. */
export function ownerIsLive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: no such process
  }
  if (owner.startTicks === undefined) return true;
  const now = processStartTicks(owner.pid);
  return now === undefined || now === owner.startTicks;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 0 || typeof v.host !== 'string' || typeof v.startedAt !== 'string') return undefined;
    return v as LockOwner;
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `stateDir` (created if missing) for this process, or throws StateDirLocked
 * naming the live owner. Unparsable content (never written by meshbridge, which writes complete
 * files) counts as stale.
 */
export function acquireStateLock(stateDir: string, instance?: string): StateLock {
  const created = !existsSync(stateDir);
  makePrivateDir(stateDir); // 0700 whatever the umask, as every state directory (lib/fs/modes.ts)
  const file = join(stateDir, LOCK_FILE_NAME);
  const ticks = processStartTicks(process.pid);
  const startedAt = new Date(Date.now() - process.uptime() * 1000).toISOString();
  const me: LockOwner = { pid: process.pid, startedAt, ...(ticks !== undefined ? { startTicks: ticks } : {}), host: hostname(), ...(instance !== undefined ? { instance } : {}) };
  const mine = `${JSON.stringify(me)}\n`;
  const unique = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tmp = `${file}.tmp-${unique}`;
  writeFileSync(tmp, mine, { flag: 'wx', mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        linkSync(tmp, file);
        return {
          file,
          release: () => {
            releaseIfMine(file, mine);
            if (created) removeIfEmpty(stateDir); // a refused start leaves no trace
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const seen = readText(file);
      if (seen === undefined) continue; // removed meanwhile: try again
      const owner = parseOwner(seen);
      if (owner !== undefined && ownerIsLive(owner)) throw new StateDirLocked(stateDir, owner);
      // Stale: move it aside, and make sure what was moved is what was judged stale.
      const aside = `${file}.stale-${unique}`;
      try {
        renameSync(file, aside);
      } catch {
        continue; // someone else moved it first
      }
      if (readText(aside) !== seen) {
        try {
          linkSync(aside, file); // another process's fresh lock: put it back
        } catch {
          // a third process holds the name now; it owns the lock
        }
      }
      unlinkSync(aside);
    }
    throw new Error(`could not take the lock ${file}: it keeps changing`);
  } finally {
    unlinkSync(tmp);
  }
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // not empty (state was written): kept
  }
}

function releaseIfMine(file: string, mine: string): void {
  if (readText(file) !== mine) return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

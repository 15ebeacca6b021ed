/**
 * How busy the machine was with *other* work while a scenario ran. The bench shares its 2 cores
 * with whatever else runs (other worktrees' test runs, linters): CPU seconds per process (from
 * /proc) are little affected, but latencies and start times are. Every result records the cores
 * used by processes outside the bench's own process tree, and `--wait-quiet` waits for a quiet
 * machine before each scenario.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './time.js';

const CLK_TCK = 100;

/** Busy and total ticks of the whole machine (/proc/stat, first line). */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU ticks of this process and all its descendants (exited children included via cutime/cstime). */
function ourTicks(): number {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const f = statFields(pid);
    if (f) parentOf.set(pid, Number(f[1]));
  }
  const ours = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (!ours.has(pid) && ours.has(ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const pid of ours) {
    const f = statFields(pid);
    // utime, stime, cutime, cstime (fields 14-17, here 11-14).
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks;
}

export interface LoadMark {
  readonly at: number;
  readonly machineBusy: number;
  readonly ours: number;
}

export function mark(): LoadMark {
  return { at: Date.now(), machineBusy: machineTicks().busy, ours: ourTicks() };
}

/** Cores used by other processes, and by the bench itself, between two marks. */
export function background(from: LoadMark, to: LoadMark): { otherCores: number; benchCores: number } {
  const seconds = Math.max(0.001, (to.at - from.at) / 1000);
  const others = Math.max(0, to.machineBusy - from.machineBusy - (to.ours - from.ours)) / CLK_TCK;
  return { otherCores: Math.round((others / seconds) * 100) / 100, benchCores: Math.round(((to.ours - from.ours) / CLK_TCK / seconds) * 100) / 100 };
}

/** Waits (at most `maxMs`) until other processes use less than `cores` over a 5 s window. */
export async function waitQuiet(cores: number, maxMs: number, log: (line: string) => void): Promise<number> {
  const started = Date.now();
  for (;;) {
    const a = mark();
    await sleep(5000);
    const { otherCores } = background(a, mark());
    if (otherCores < cores) return Date.now() - started;
    if (Date.now() - started > maxMs) {
      log(`  machine still busy (others use ${otherCores} cores); going on after ${Math.round((Date.now() - started) / 1000)} s`);
      return Date.now() - started;
    }
    log(`  waiting for a quiet machine: other processes use ${otherCores} cores`);
  }
}

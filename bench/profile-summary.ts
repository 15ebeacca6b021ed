/**
 * `node dist/bench/profile-summary.js DIR|FILE [--top N] [--last MS] [--skip-last MS]`: self time by function and by file of V8
 * CPU profiles (`node --cpu-prof`), and the total time spent under some inclusive frames, to read
 * what the control plane did during a benchmark.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function files(path: string): string[] {
  if (statSync(path).isDirectory()) return readdirSync(path).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(path, f));
  return [path];
}

function short(url: string): string {
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  const n = url.indexOf('node_modules/');
  if (n >= 0) return url.slice(n + 13);
  return url === '' ? '(native)' : basename(url);
}

const args = process.argv.slice(2);
const topIdx = args.indexOf('--top');
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 30;
const lastIdx = args.indexOf('--last');
/** Only the last N ms of each profile (e.g. the churn phase at the end of a run). */
const lastMs = lastIdx >= 0 ? Number(args[lastIdx + 1]) : Infinity;
const skipIdx = args.indexOf('--skip-last');
/** Leaves out the last N ms (e.g. the shutdown), and `--last` counts back from there. */
const skipMs = skipIdx >= 0 ? Number(args[skipIdx + 1]) : 0;
const target = args.find((a, i) => !a.startsWith('--') && ![topIdx, lastIdx, skipIdx].some((k) => k >= 0 && i === k + 1));
if (target === undefined) {
  process.stderr.write('usage: node dist/bench/profile-summary.js DIR|FILE [--top N] [--last MS] [--skip-last MS]\n');
  process.exit(2);
}
for (const file of files(target)) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const times: number[] = [];
  let t = p.startTime;
  for (const d of p.timeDeltas) times.push((t += d));
  const to = p.endTime - skipMs * 1000;
  const from = to - lastMs * 1000;
  p.samples.forEach((id, i) => {
    const at = times[i] ?? 0;
    if (at < from || at > to) return;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  const total = (p.endTime - p.startTime) / 1000;
  const fnSelf = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${short(cf.url)}:${cf.lineNumber + 1}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + ms);
    fileSelf.set(short(cf.url), (fileSelf.get(short(cf.url)) ?? 0) + ms);
    // Inclusive time per function (counted once per sample even under recursion).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const c = byId.get(cur)?.callFrame;
      if (!c) break;
      const k = `${c.functionName || '(anonymous)'} ${short(c.url)}:${c.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms);
    }
  }
  const busy = [...self.entries()].filter(([id]) => byId.get(id)?.callFrame.functionName !== '(idle)').reduce((s, [, ms]) => s + ms, 0);
  const print = (title: string, m: Map<string, number>): void => {
    process.stdout.write(`\n  ${title}\n`);
    for (const [k, ms] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(`  ${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / Math.max(1, busy)).toFixed(1).padStart(5)}%  ${k}\n`);
    }
  };
  process.stdout.write(`\n${file}\n  wall ${total.toFixed(0)} ms, busy (not idle) ${busy.toFixed(0)} ms\n`);
  print('self time by function', fnSelf);
  print('self time by file', fileSelf);
  print('inclusive time by function', new Map([...inclusive].filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(idle)'))));
}

/**
 * A unified diff of two texts by lines (longest common subsequence), as `diff -u` prints it, with
 * `context` lines around each change. Pure; quadratic in the lines that differ after the common
 * head and tail are set aside, which is what a configuration change leaves.
 */
export function unifiedDiff(before: string, after: string, labels: { readonly before: string; readonly after: string }, context = 3): string {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  if (head === a.length && head === b.length) return '';
  const ops: { readonly op: ' ' | '-' | '+'; readonly line: string }[] = [];
  for (let i = 0; i < head; i++) ops.push({ op: ' ', line: a[i] ?? '' });
  ops.push(...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail)));
  for (let i = a.length - tail; i < a.length; i++) ops.push({ op: ' ', line: a[i] ?? '' });
  return `--- ${labels.before}\n+++ ${labels.after}\n${hunks(ops, context).join('\n')}\n`;
}

function middle(a: readonly string[], b: readonly string[]): { op: ' ' | '-' | '+'; line: string }[] {
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    const row = lcs[i] as number[];
    const below = lcs[i + 1] as number[];
    for (let j = b.length - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (below[j + 1] ?? 0) + 1 : Math.max(below[j] ?? 0, row[j + 1] ?? 0);
  }
  const out: { op: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ op: ' ', line: a[i++] ?? '' });
      j++;
    } else if (i < a.length && (j >= b.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) out.push({ op: '-', line: a[i++] ?? '' });
    else out.push({ op: '+', line: b[j++] ?? '' }); // removals before additions, as diff -u
  }
  return out;
}

function hunks(ops: readonly { op: ' ' | '-' | '+'; line: string }[], context: number): string[] {
  const lines: string[] = [];
  let k = 0;
  let aLine = 1;
  let bLine = 1;
  while (k < ops.length) {
    const firstChange = ops.findIndex((o, idx) => idx >= k && o.op !== ' ');
    if (firstChange < 0) break;
    const start = Math.max(k, firstChange - context);
    for (let x = k; x < start; x++) {
      aLine++;
      bLine++;
    }
    // The hunk ends after `context` unchanged lines that no further change follows closely.
    let end = firstChange;
    let quiet = 0;
    while (end < ops.length && quiet <= 2 * context) {
      quiet = ops[end]?.op === ' ' ? quiet + 1 : 0;
      end++;
    }
    end = Math.min(ops.length, end - Math.max(0, quiet - context));
    const body = ops.slice(start, end);
    const aCount = body.filter((o) => o.op !== '+').length;
    const bCount = body.filter((o) => o.op !== '-').length;
    lines.push(`@@ -${aLine},${aCount} +${bLine},${bCount} @@`, ...body.map((o) => `${o.op}${o.line}`));
    aLine += aCount;
    bLine += bCount;
    k = end;
  }
  return lines;
}

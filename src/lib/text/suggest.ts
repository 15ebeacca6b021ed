/**
 * "Did you mean" suggestions for misspelt names (fields, kinds, regions): the candidates within a
 * Damerau-Levenshtein distance of 2 (optimal string alignment: insertions, deletions,
 * substitutions, and swaps of two neighbouring letters each cost 1), the closest first.
 */

/** The optimal-string-alignment distance between `a` and `b`, or `limit + 1` once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row.push(d);
      best = Math.min(best, d);
    }
    if (i > 0 && best > limit) return limit + 1;
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The candidate closest to `name` within distance `maxDistance` (default 2), compared without
 * regard to case (a case-only difference counts as distance 0.5, so it wins); undefined when none.
 */
export function closestMatch(name: string, candidates: Iterable<string>, maxDistance = 2): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const folded = editDistance(name.toLowerCase(), candidate.toLowerCase(), maxDistance);
    const distance = folded === 0 ? 0.5 : folded;
    if (distance <= maxDistance && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** ` Did you mean "x"?` for a message, or '' when nothing is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const match = closestMatch(name, candidates);
  return match === undefined ? '' : ` Did you mean ${JSON.stringify(match)}?`;
}

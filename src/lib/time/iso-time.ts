/**
 * `new Date(ms).toISOString()`, remembering the last answer: records written in a burst (bench S1:
 * 100,000 health transitions and events at a 100k start, within a few hundred milliseconds) share
 * the same millisecond, and each conversion made a Date and a string.
 */
let lastMs = Number.NaN;
let lastText = '';

export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}

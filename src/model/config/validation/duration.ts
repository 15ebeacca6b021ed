import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import type { JsonObject, Problems } from './json.js';
import { childPath, fieldName, fieldOf, quote, typeError } from './json.js';

/**
 * Durations as Istio reads them from YAML: Go `time.ParseDuration` syntax ("10s", "1.5s", "100ms",
 * "1m", "1h30m", "0"), and the checks of Istio's `ValidateDuration` (at least 1ms, whole
 * milliseconds).
 */

const NANOS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n],
  ['\u03bcs', 1_000n],
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const MAX_NANOS = 2n ** 63n - 1n;
/** No valid duration a person writes is longer; the cap keeps huge inputs cheap. */
const MAX_TEXT_LENGTH = 128;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Go `time.ParseDuration`: the duration in nanoseconds, or undefined when Go would fail. */
export function parseGoDuration(text: string): bigint | undefined {
  if (text.length > MAX_TEXT_LENGTH) return undefined;
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) return undefined;
    let i = 0;
    while (isDigit(s[i])) i++;
    const whole = s.slice(0, i);
    let fraction = '';
    if (s[i] === '.') {
      let j = i + 1;
      while (isDigit(s[j])) j++;
      fraction = s.slice(i + 1, j);
      i = j;
    }
    if (whole === '' && fraction === '') return undefined;
    let u = i;
    while (u < s.length && s[u] !== '.' && !isDigit(s[u])) u++;
    const unit = NANOS_PER_UNIT.get(s.slice(i, u));
    if (unit === undefined) return undefined; // missing or unknown unit
    total += BigInt(whole === '' ? '0' : whole) * unit;
    if (fraction !== '') total += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    if (total > MAX_NANOS + 1n) return undefined; // overflow
    s = s.slice(u);
  }
  if (!negative && total > MAX_NANOS) return undefined;
  return negative ? -total : total;
}

/**
 * Istio `ValidateDuration` on a parsed duration: the reason it is refused, or undefined.
 * `allowZero` is for the few fields where 0s means "disabled" (TCP idle timeout).
 */
export function durationRangeProblem(nanos: bigint, allowZero = false): string | undefined {
  if (allowZero && nanos === 0n) return undefined;
  if (nanos < 1_000_000n) return 'must be at least 1ms';
  if (nanos % 1_000_000n !== 0n) return 'must be a whole number of milliseconds';
  return undefined;
}

/**
 * Reads a duration field: a string in Go syntax that passes Istio's `ValidateDuration`.
 * Returns the nanoseconds, or undefined when absent or invalid (and then reports why).
 */
export function readDuration(
  obj: JsonObject,
  key: string,
  path: FieldPath,
  out: Problems,
  options: { readonly allowZero?: boolean; readonly checkRange?: boolean } = {},
): bigint | undefined {
  const value = fieldOf(obj, key);
  if (value === undefined || value === null) return undefined;
  const at = childPath(path, key);
  if (typeof value !== 'string') {
    out.push(typeError(at, 'a duration string such as "1.5s", "100ms" or "1m"', value));
    return undefined;
  }
  const nanos = parseGoDuration(value);
  if (nanos === undefined) {
    out.push(error(at, `${fieldName(at)} is not a duration: ${quote(value)}; write e.g. "1.5s", "100ms" or "1m".`));
    return undefined;
  }
  if (options.checkRange !== false) {
    const problem = durationRangeProblem(nanos, options.allowZero ?? false);
    if (problem !== undefined) {
      out.push(error(at, `${fieldName(at)} ${problem}, not ${quote(value)}.`));
      return undefined;
    }
  }
  return nanos;
}

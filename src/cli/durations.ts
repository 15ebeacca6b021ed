import { parseGoDuration } from '../model/config/validation/duration.js';
import { UsageError } from './output.js';

/** `flag`'s Go duration (`30s`, `1h`) of at least one second, in whole seconds; a UsageError naming the flag otherwise. */
export function parseDurationSeconds(flag: string, text: string): number {
  const nanos = parseGoDuration(text);
  const seconds = nanos === undefined ? NaN : Number(nanos / 1_000_000_000n);
  if (!Number.isFinite(seconds) || seconds < 1) throw new UsageError(`${flag} must be a duration of at least 1s (e.g. 1h, 30m), not ${JSON.stringify(text)}`);
  return seconds;
}

/** Parsers of the `--client-*` flags shared by the commands that take a client's point of view (`endpoints`, `diff`). */
import { UsageError } from './output.js';

/** `region[/zone[/subzone]]`: one to three non-empty parts without spaces (cli-contract: parts optional). */
export function parseClientLocality(v: string): string {
  const parts = v.split('/');
  if (parts.length > 3 || parts.some((p) => p === '' || /\s/.test(p))) {
    throw new UsageError(`--client-locality takes region[/zone[/subzone]] (non-empty parts without spaces, e.g. us-east1/us-east1-b/rack-1), not ${JSON.stringify(v)}`);
  }
  return v;
}

/** `k=v,k2=v2` (`--client-labels`). */
export function parseLabels(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--client-labels takes k=v pairs separated by commas, not ${JSON.stringify(part)}`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

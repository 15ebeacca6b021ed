/** meshbridge's version: the `version` of its package.json (read once). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function meshbridgeVersion(): string {
  if (cached === undefined) {
    // dist/src/lib/version.js and src/lib/version.ts are both three folders below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return cached;
}

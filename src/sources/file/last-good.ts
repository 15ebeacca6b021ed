/**
 * The last good version of each configuration file, kept in the state directory (issue 13), so that
 * a restart serves what the running process served: a file edited into an invalid state (while
 * serve ran, or while it was down) keeps serving its last accepted version after a restart too,
 * instead of only its valid objects.
 *
 * Layout: `<stateDir>/last-good/<sha256 of the file's absolute path, 32 hex>.yaml`, the accepted
 * text byte for byte (positions in findings stay right). A copy is written only when the accepted
 * text differs from the stored one (temp file + rename), and removed when the file is removed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the folder source keeps last good versions (sources/file/config-folder.ts). */
export interface LastGoodVersions {
  /** The text of the last accepted version of `path`, if one is kept. */
  get(path: string): string | undefined;
  /** Records `text` as the accepted version of `path`. */
  put(path: string, text: string): void;
  /** The file is gone: its last good version too. */
  remove(path: string): void;
}

export const LAST_GOOD_DIR = 'last-good';

/** Last good versions in `<stateDir>/last-good`; `readOnly` (a reader beside serve) never writes. */
export function lastGoodVersionsIn(stateDir: string, readOnly = false): LastGoodVersions {
  const dir = join(stateDir, LAST_GOOD_DIR);
  const fileOf = (path: string): string => join(dir, `${createHash('sha256').update(resolve(path)).digest('hex').slice(0, 32)}.yaml`);
  const read = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  };
  return {
    get: (path) => read(fileOf(path)),
    put(path, text) {
      if (readOnly) return;
      const file = fileOf(path);
      if (read(file) === text) return;
      mkdirSync(dir, { recursive: true });
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    },
    remove(path) {
      if (readOnly) return;
      try {
        unlinkSync(fileOf(path));
      } catch {
        // none kept
      }
    },
  };
}

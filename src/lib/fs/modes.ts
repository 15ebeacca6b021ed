/**
 * Files and folders whose modes do not depend on the process's umask (issue 11): keys, tokens and
 * state files 0600, folders 0700. A mode given at creation is masked by the umask (so a umask of 000
 * leaves it as asked, but 022 or 077 narrow it, and nothing says what an old umask did), so every
 * file is set to its mode with chmod before it is put in place, and every folder made here is set to
 * 0700 with chmod. Folders that exist already are left as they are: they may be the operator's.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';

export const PRIVATE_FILE = 0o600;
export const PRIVATE_DIR = 0o700;

/**
 * Writes a file atomically (a temporary file created exclusively in the same folder, set to `mode`,
 * then renamed over `file`): a reader sees the old or the new content, never a part, and never a
 * moment with a wider mode.
 */
export function writeFileAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, content, { mode, flag: 'wx' });
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Creates `dir` and its missing parents, each 0700 (chmod, whatever the umask). Existing folders are
 * left alone, except `dir` itself with `own` (a folder only meshbridge uses, e.g. `<state>/ca`,
 * `<bootstrap>/certs`, made wider by an earlier version under a loose umask).
 */
export function makePrivateDir(dir: string, o: { readonly own?: boolean } = {}): void {
  const target = resolve(dir);
  const first = mkdirSync(target, { recursive: true, mode: PRIVATE_DIR });
  if (first === undefined) {
    if (o.own === true) chmodSync(target, PRIVATE_DIR);
    return;
  }
  for (let d = target; ; d = dirname(d)) {
    chmodSync(d, PRIVATE_DIR);
    if (d === first || dirname(d) === d) break;
  }
}

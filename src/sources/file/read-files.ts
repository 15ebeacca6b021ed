/** Reads configuration files and folders (recursively: *.yaml, *.yml, *.json). */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceFile } from '../../model/config/load.js';

const CONFIG_FILE = /\.(ya?ml|json)$/i;

export class ConfigReadError extends Error {}

/** Whether a file found in a folder is read as configuration (*.yaml, *.yml, *.json). */
export function isConfigFileName(path: string): boolean {
  return CONFIG_FILE.test(path);
}

/** Lists the configuration files under `paths`, sorted. A path given explicitly is read whatever its extension. */
export async function listConfigFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string, explicit: boolean): Promise<void> => {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      throw new ConfigReadError(`cannot read ${p}: ${describe(e)}`);
    }
    if (st.isDirectory()) {
      const entries = (await readdir(p)).sort();
      for (const name of entries) {
        if (name.startsWith('.') || name === 'node_modules') continue;
        const child = join(p, name);
        const cst = await stat(child).catch(() => undefined);
        if (cst?.isDirectory()) await walk(child, false);
        else if (CONFIG_FILE.test(name)) out.push(child);
      }
    } else if (explicit || CONFIG_FILE.test(p)) {
      out.push(p);
    }
  };
  for (const p of paths) await walk(p, true);
  return [...new Set(out)].sort();
}

export async function readConfigFiles(paths: readonly string[]): Promise<SourceFile[]> {
  const files = await listConfigFiles(paths);
  return Promise.all(
    files.map(async (path) => {
      try {
        return { path, text: await readFile(path, 'utf8') };
      } catch (e) {
        throw new ConfigReadError(`cannot read ${path}: ${describe(e)}`);
      }
    }),
  );
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file or directory';
  if (err.code === 'EACCES') return 'permission denied';
  return err.message;
}

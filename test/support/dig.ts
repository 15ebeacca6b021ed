/**
 * `dig` (Debian dnsutils) as a VM's resolver would use it against the agent's DNS proxy: one
 * question, one try, and the parsed status, header flags and answer section.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  readonly answers: readonly { name: string; ttl: number; type: string; data: string }[];
}

/** Runs dig against `server` (default 127.0.0.1) on `port`; `options` such as `+tcp`. */
export async function dig(port: number, name: string, type: string, ...options: string[]): Promise<DigResult> {
  return digAt('127.0.0.1', port, name, type, ...options);
}

export async function digAt(server: string, port: number, name: string, type: string, ...options: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', [`@${server}`, '-p', String(port), '+tries=1', '+time=3', ...options, name, type]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE';
  const flags = (/;; flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
  const section = /;; ANSWER SECTION:\n([\s\S]*?)\n\n/.exec(stdout)?.[1] ?? '';
  const answers = section
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [owner = '', ttl = '0', , rtype = '', data = ''] = l.split(/\s+/);
      return { name: owner, ttl: Number(ttl), type: rtype, data };
    });
  return { status, flags, answers };
}

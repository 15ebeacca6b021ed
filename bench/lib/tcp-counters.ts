import { readFileSync } from 'node:fs';

/**
 * The kernel's count of connections dropped because a listener's accept queue was full
 * (`TcpExt: ListenOverflows` in /proc/net/netstat, machine-wide; `nstat` shows the same). A connect
 * phase that raises it had proxies waiting on SYN retransmits or reset (read ECONNRESET).
 * Undefined where /proc/net/netstat cannot be read.
 */
export function listenOverflows(): number | undefined {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i++) {
      const names = lines[i]!.split(/\s+/);
      if (names[0] !== 'TcpExt:') continue;
      const values = lines[i + 1]!.split(/\s+/);
      const at = names.indexOf('ListenOverflows');
      return at < 0 ? undefined : Number(values[at]);
    }
  } catch {
    // not Linux, or no /proc
  }
  return undefined;
}

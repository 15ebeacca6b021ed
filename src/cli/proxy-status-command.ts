/** `meshbridge proxy-status`: asks a running `serve` for each proxy's sync state (like `istioctl proxy-status`). */
import type { ProxySync } from '../status/sync-status.js';
import { printData, table, type OutputFormat } from './output.js';
import { ControlPlaneUnreachable } from './errors.js';


export async function runProxyStatus(httpAddress: string, format: OutputFormat, out: NodeJS.WritableStream): Promise<number> {
  let proxies: ProxySync[];
  try {
    const res = await fetch(`http://${httpAddress}/debug/syncz`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    proxies = (await res.json()) as ProxySync[];
  } catch (e) {
    throw new ControlPlaneUnreachable(`cannot reach the control plane at ${httpAddress}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (format !== 'text') {
    printData({ proxies }, format, out);
    return 0;
  }
  const types = ['CDS', 'LDS', 'EDS', 'RDS'];
  const rows = [['NAME', 'KIND', 'NAMESPACE', ...types, 'INSTANCE']];
  for (const p of proxies) {
    rows.push([p.proxy, p.kind, p.namespace, ...types.map((t) => p.types.find((x) => x.type === t)?.state ?? 'NOT SENT'), p.instance]);
  }
  out.write(`${table(rows)}\n`);
  const nacks = proxies.flatMap((p) => p.types.filter((t) => t.nack).map((t) => `${p.proxy} ${t.type}: ${t.nack?.error ?? ''}`));
  if (nacks.length > 0) out.write(`\nNACKs:\n${nacks.map((n) => `  ${n}`).join('\n')}\n`);
  return 0;
}

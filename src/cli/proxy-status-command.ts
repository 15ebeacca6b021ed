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
  // istioctl proxy-status's columns (NAME CLUSTER CDS LDS EDS RDS ECDS ISTIOD VERSION), with the
  // proxy's KIND and NAMESPACE (cli-contract) after its name.
  const types = ['CDS', 'LDS', 'EDS', 'RDS', 'ECDS'];
  const rows = [['NAME', 'KIND', 'NAMESPACE', 'CLUSTER', ...types, 'ISTIOD', 'VERSION']];
  const sorted = [...proxies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of sorted) {
    const state = (t: string): string => p.types.find((x) => x.type === t)?.state ?? 'NOT SENT';
    rows.push([p.name, p.kind, p.namespace || '-', p.cluster || '-', ...types.map(state), p.instance, p.version || '-']);
  }
  out.write(`${table(rows)}\n`);
  const nacks = sorted.flatMap((p) => p.types.filter((t) => t.nack).map((t) => `${p.name} ${t.type} (version ${t.nack?.version ?? ''}): ${t.nack?.error ?? ''}`));
  if (nacks.length > 0) out.write(`\nNACKs:\n${nacks.map((n) => `  ${n}`).join('\n')}\n`);
  return 0;
}

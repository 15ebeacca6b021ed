/**
 * The text form of a what-if result (`meshbridge diff`), kubectl-diff-like: the findings of the
 * changed files (file:line:col), each changed object with a unified diff, then per group of client
 * classes that would see the same change: routes, endpoints, clusters and listeners marked
 * `+` added, `-` removed, `~` changed.
 */
import { formatFinding } from '../model/config/format-finding.js';
import type { ClientChanges, EndpointChange, EndpointState, ResourceChange, ResourceChangeKind, RouteChange, RouteSummary, WhatIfResult } from '../status/what-if.js';

const MARK: Readonly<Record<ResourceChangeKind, string>> = { added: '+', removed: '-', changed: '~' };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
}

function indent(text: string, prefix: string): string[] {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `${prefix}${l}`);
}

export function formatWhatIfText(r: WhatIfResult): string {
  const lines: string[] = [...r.errors.map((f) => formatFinding(f, 'error')), ...r.warnings.map((f) => formatFinding(f, 'warning'))];
  if (!r.applicable) {
    lines.push(`invalid: ${plural(r.errors.length, 'error')} in the changed files; nothing would be applied and nothing was compared`);
    return `${lines.join('\n')}\n`;
  }
  for (const o of r.objects) {
    const what = `${o.kind} ${o.namespace !== '' ? `${o.namespace}/` : ''}${o.name}`;
    lines.push(`${what} ${o.change} (${o.file}:${o.line})`);
    if (o.diff !== undefined) lines.push(...indent(o.diff, '  '));
  }
  for (const group of groupClients(r.clients)) lines.push('', ...formatClientGroup(group));
  const objectsChanged = r.objects.filter((o) => o.change !== 'unchanged').length;
  const classes = r.clients.length;
  lines.push(
    '',
    r.changed
      ? `would change: ${plural(objectsChanged, 'object')}; the configuration of ${classes} of ${plural(r.compared.length, 'client class')}`
      : `no changes: ${plural(r.objects.length, 'object')} unchanged; ${plural(r.compared.length, 'client class')} compared`,
  );
  return `${lines.join('\n')}\n`;
}

/** Client classes that would see exactly the same change, together (in their first one's order). */
function groupClients(clients: readonly ClientChanges[]): ClientChanges[][] {
  const groups = new Map<string, ClientChanges[]>();
  for (const c of clients) {
    const key = JSON.stringify([c.clusters, c.endpoints, c.routes, c.listeners]);
    const g = groups.get(key);
    if (g) g.push(c);
    else groups.set(key, [c]);
  }
  return [...groups.values()];
}

function formatClientGroup(group: readonly ClientChanges[]): string[] {
  const first = group[0];
  if (first === undefined) return [];
  const lines = [`=== clients: ${group.map((c) => c.label).join('; ')}`];
  if (first.routes.length > 0) lines.push('routes:', ...first.routes.flatMap(formatRoute));
  if (first.endpoints.length > 0) {
    lines.push('endpoints:');
    for (const e of first.endpoints) {
      lines.push(`  ${MARK[e.change]} ${e.cluster}`, ...e.endpoints.map(formatEndpoint));
      for (const w of e.localityWeights) lines.push(`      ~ locality ${w.locality || '-'} priority=${w.priority}  weight ${w.before ?? 0} -> ${w.after ?? 0}`);
    }
  }
  if (first.clusters.length > 0) lines.push('clusters:', ...first.clusters.flatMap((c) => formatResource(c, true)));
  if (first.listeners.length > 0) lines.push('listeners:', ...first.listeners.flatMap((c) => formatResource(c, false)));
  return lines;
}

function formatRoute(r: RouteChange): string[] {
  const route = (prefix: string) => (s: RouteSummary) => `      ${prefix} ${s.match} -> ${s.action}`;
  return [`  ${MARK[r.change]} route ${r.routeConfiguration}, virtual host ${r.virtualHost}`, ...(r.before ?? []).map(route('-')), ...(r.after ?? []).map(route('+'))];
}

function endpointText(s: EndpointState): string {
  return `locality=${s.locality || '-'} priority=${s.priority} weight=${s.weight} ${s.health}`;
}

function formatEndpoint(e: EndpointChange): string {
  if (e.change !== 'changed' || e.before === undefined || e.after === undefined) {
    const state = e.after ?? e.before;
    return `      ${MARK[e.change]} ${e.address}  ${state ? endpointText(state) : ''}`;
  }
  const { before, after } = e;
  return `      ~ ${e.address}  ${(e.fields ?? []).map((f) => `${f} ${String(before[f])} -> ${String(after[f])}`).join(', ')}`;
}

/** `diff`: print a changed resource's JSON diff (clusters); listeners are long, their names suffice. */
function formatResource(c: ResourceChange, diff: boolean): string[] {
  return [`  ${MARK[c.change]} ${c.name}`, ...(diff && c.diff !== undefined ? indent(c.diff, '      ') : [])];
}

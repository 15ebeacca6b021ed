/**
 * `meshbridge get KIND [NAME] [-n NS | -A] [-o text|wide|yaml|json] [--store URL]` (cli-contract):
 * lists objects of a kind from the store. JSON and YAML are a Kubernetes-style `List` of complete
 * items (metadata with resourceVersion, creationTimestamp, labels, annotations; status).
 */
import { toDocument } from '../model/config/document.js';
import { kindFromName } from '../model/config/kind-names.js';
import { StoreUnavailableError } from '../model/config/store.js';
import type { ConfigObject, Kind, WorkloadEntry } from '../model/config/types.js';
import { printData, table, UsageError } from './output.js';
import type { EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import { openCliStore, StoreUnreachable } from './store-client.js';

export interface GetOptions {
  readonly kind: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly allNamespaces: boolean;
  readonly output: string;
  readonly store: string;
  /** `--etcd-*` flags for an etcd store. */
  readonly etcd?: EtcdSecurityFlags;
  readonly stateDir?: string;
}

export async function runGet(o: GetOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const kind = kindFromName(o.kind);
  if (!kind) throw new UsageError(`unknown kind ${JSON.stringify(o.kind)}`);
  if (!['text', 'wide', 'json', 'yaml'].includes(o.output)) throw new UsageError(`unknown output format ${JSON.stringify(o.output)}: use one of text, wide, json, yaml`);
  const s = await openCliStore(o.store, o.stateDir, o.etcd);
  let objects: readonly ConfigObject[];
  try {
    objects = (await s.store.list()).objects;
  } catch (e) {
    if (e instanceof StoreUnavailableError) throw new StoreUnreachable(e.message);
    throw e;
  } finally {
    await s.close();
  }
  let items = objects.filter((x) => x.kind === kind);
  if (!o.allNamespaces) items = items.filter((x) => x.metadata.namespace === '' || x.metadata.namespace === (o.namespace ?? 'default'));
  if (o.name !== undefined) items = items.filter((x) => x.metadata.name === o.name);
  items.sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
  if (o.name !== undefined && items.length === 0) {
    err.write(`meshbridge: ${kind} ${o.name} not found in namespace ${o.namespace ?? 'default'}\n`);
    return 1;
  }
  if (o.output === 'json' || o.output === 'yaml') {
    printData({ apiVersion: 'v1', kind: 'List', items: items.map(item) }, o.output, out);
    return 0;
  }
  out.write(`${table(rowsFor(kind, items, o.allNamespaces, o.output === 'wide'))}\n`);
  return 0;
}

/** A complete item: labels and annotations always present (empty maps included). */
function item(x: ConfigObject): unknown {
  const doc = toDocument(x);
  const metadata = doc['metadata'] as Record<string, unknown>;
  return { ...doc, metadata: { ...metadata, labels: x.metadata.labels, annotations: x.metadata.annotations } };
}

function age(ts: string | undefined): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function condition(e: WorkloadEntry, type: string): string {
  const c = (e.status?.conditions ?? []).find((x) => x.type === type);
  return c ? String(c.status) : '-';
}

function rowsFor(kind: Kind, items: readonly ConfigObject[], allNamespaces: boolean, wide: boolean): string[][] {
  const ns = (x: ConfigObject) => (allNamespaces ? [x.metadata.namespace] : []);
  const head = allNamespaces ? ['NAMESPACE'] : [];
  if (kind === 'WorkloadEntry') {
    const rows = [[...head, 'NAME', 'ADDRESS', 'GROUP', 'CONNECTED', 'HEALTHY', 'AGE', ...(wide ? ['NETWORK', 'LOCALITY', 'CONTROLLER'] : [])]];
    for (const x of items as WorkloadEntry[]) {
      rows.push([
        ...ns(x),
        x.metadata.name,
        x.spec.address ?? '',
        x.metadata.annotations['istio.io/autoRegistrationGroup'] ?? '-',
        condition(x, 'Connected'),
        condition(x, 'Healthy'),
        age(x.metadata.creationTimestamp),
        ...(wide ? [x.spec.network || '-', x.spec.locality || '-', x.metadata.annotations['istio.io/workloadController'] ?? '-'] : []),
      ]);
    }
    return rows;
  }
  const rows = [[...head, 'NAME', 'AGE']];
  for (const x of items) rows.push([...ns(x), x.metadata.name, age(x.metadata.creationTimestamp)]);
  return rows;
}

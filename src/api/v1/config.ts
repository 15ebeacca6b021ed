/**
 * `GET /api/v1/config` (view 9, docs/api.md): every input object with where it was read, the
 * validation problems of its file that name it (with positions), the status as stored (what the
 * control plane wrote: ServiceEntry addresses, WorkloadEntry conditions), and cross-references:
 * WorkloadGroup ↔ its registered WorkloadEntries, ServiceEntry → the workloads its selector picks
 * (and back), DestinationRule / VirtualService → the services of their hosts. Plus the file store's
 * files with their problems.
 */
import type { ConfigObject } from '../../model/config/types.js';
import { objectKey } from '../../model/config/types.js';
import type { Finding } from '../../model/config/load.js';
import type { FilesReport } from '../../model/config/store.js';
import { ANNOTATION } from '../../model/mesh/labels.js';
import { inputObjects, type Registry } from '../../registry/registry.js';
import { locationOf } from './services.js';
import type { ConfigFileView, ConfigObjectView, ConfigProblem, ConfigReference, ConfigResponse, JsonValue } from './types.js';

export interface ConfigInputs {
  readonly store: string;
  readonly revision: string;
  /** The file store's last folder report (undefined with etcd). */
  readonly lastReload: FilesReport | undefined;
}

function problemOf(f: Finding): ConfigProblem {
  return { severity: f.severity === 'error' ? 'error' : 'warning', message: f.message, field: f.field, file: f.file, line: f.line, column: f.column };
}

const matches = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Cross-references by object key (each list sorted, no duplicates). */
function references(registry: Registry, objects: readonly ConfigObject[]): Map<string, ConfigReference[]> {
  const out = new Map<string, ConfigReference[]>();
  const add = (from: string, relation: ConfigReference['relation'], key: string): void => {
    const list = out.get(from) ?? [];
    if (!list.some((r) => r.relation === relation && r.key === key)) list.push({ relation, key });
    out.set(from, list);
  };
  const workloads = registry.workloads.list();
  for (const o of objects) {
    const key = objectKey(o);
    if (o.kind === 'WorkloadEntry') {
      const group = o.metadata.annotations[ANNOTATION.autoRegistrationGroup];
      if (group !== undefined) {
        add(key, 'group', `WorkloadGroup/${o.metadata.namespace}/${group}`);
        add(`WorkloadGroup/${o.metadata.namespace}/${group}`, 'entries', key);
      }
    } else if (o.kind === 'ServiceEntry') {
      const selector = o.spec.workloadSelector?.labels;
      if (selector === undefined) continue;
      for (const w of workloads) {
        if (w.namespace !== o.metadata.namespace || !matches(selector, w.labels)) continue;
        add(key, 'selects', w.key);
        add(w.key, 'selectedBy', key);
      }
    } else if (o.kind === 'DestinationRule' || o.kind === 'VirtualService') {
      const hosts = o.kind === 'DestinationRule' ? [o.spec.host ?? ''] : (o.spec.hosts ?? []);
      for (const host of hosts) for (const s of registry.servicesByHost.lookup(host)) add(key, 'host', `${s.namespace}/${s.host}`);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a.relation.localeCompare(b.relation) || a.key.localeCompare(b.key));
  return out;
}

export function configView(registry: Registry, i: ConfigInputs): ConfigResponse {
  const objects = inputObjects(registry.inputs);
  const findings = i.lastReload?.findings ?? [];
  const refs = references(registry, objects);
  const views = objects.map((o): ConfigObjectView => {
    const key = objectKey(o);
    const { namespace, name } = o.metadata;
    return {
      key,
      kind: o.kind,
      namespace,
      name,
      location: locationOf(o),
      problems: findings.filter((f) => f.kind === o.kind && f.name === name && (f.namespace === namespace || f.namespace === '')).map(problemOf),
      status: 'status' in o && o.status !== undefined ? (o.status as JsonValue) : null,
      references: refs.get(key) ?? [],
    };
  });
  const files = (i.lastReload?.files ?? []).map((f): ConfigFileView => ({ path: f.path, rejected: f.rejected, objects: f.objects.length, problems: f.findings.map(problemOf) }));
  return { store: i.store, revision: i.revision, objects: views, files };
}

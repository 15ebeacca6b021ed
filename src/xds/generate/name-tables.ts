/**
 * NDS: the DNS name table of each Envoy-flavour class (one class per view for that flavour, so per
 * proxy group), handed to the resource cache as the one unnamed `NameTable` resource (docs/dns.md).
 *
 * Contract: the table is what `buildNameTable` gives for the class's client (namespace, network)
 * over every service at all times; it is handed to the cache only when its content changed, so a
 * connected agent receives it again exactly when its table changed, endpoint-only changes of
 * `resolution: NONE` services included (Istio misses those: istio#49769). A push recomputes only the
 * entries of the hosts it changed (all of them when the mesh settings changed, since exportTo
 * defaults come from there); `hostsComputed` counts the entries computed, for tests.
 */
import { create } from '@bufbuild/protobuf';
import { NameTableSchema, type NameTable } from '../../gen/istio/networking/nds/v1/nds_pb.js';
import type { MeshSettings } from '../../model/mesh/mesh-settings.js';
import type { Registry } from '../../registry/registry.js';
import type { ViewSources } from '../../registry/view/clusters.js';
import { buildNameTable, nameTableEntry, sameNameTableEntry, sortNameTable, type NameTableEntry, type NameTableProxy } from '../../registry/view/name-table.js';
import type { ResourceSink } from '../cache/resource-cache.js';
import { NAME_TABLE } from '../types/resource-types.js';
import type { ClassState } from './view-classes.js';

interface TableState {
  mesh: MeshSettings;
  table: ReadonlyMap<string, NameTableEntry>;
}

export interface NameTablesOptions {
  readonly registry: Pick<Registry, 'servicesByHost'>;
  readonly cache: ResourceSink;
}

/** The NameTable message of a table (hosts in the table's order, so equal tables encode alike). */
export function nameTableMessage(table: ReadonlyMap<string, NameTableEntry>): NameTable {
  const entries: NameTable['table'] = {};
  for (const [host, e] of table) {
    entries[host] = { $typeName: 'istio.networking.nds.v1.NameTable.NameInfo', ips: [...e.ips], registry: e.registry, shortname: e.shortname ?? '', namespace: e.namespace ?? '', altHosts: [] };
  }
  return create(NameTableSchema, { table: entries });
}

export class NameTables {
  readonly #o: NameTablesOptions;
  readonly #byClass = new Map<string, TableState>();
  #version = 0;
  /** Host entries computed so far (a full build counts every host of the mesh). */
  hostsComputed = 0;

  constructor(options: NameTablesOptions) {
    this.#o = options;
  }

  /** The class's table as last handed to the cache (undefined: not an Envoy class, or not built). */
  tableOf(classKey: string): ReadonlyMap<string, NameTableEntry> | undefined {
    return this.#byClass.get(classKey)?.table;
  }

  /** Builds a class's table from every service (a new class). */
  build(c: ClassState, sources: ViewSources): void {
    if (c.spec.kind !== 'envoy') return;
    const services = sources.services;
    this.hostsComputed += services.length;
    const table = buildNameTable(services, proxyOf(c), sources.mesh);
    this.#byClass.set(c.key, { mesh: sources.mesh, table });
    this.#publish(c.key, table);
  }

  /** After a push that changed `hosts`: recomputes their entries and hands the cache the table if it changed. */
  refresh(c: ClassState, sources: ViewSources, hosts: ReadonlySet<string>): void {
    if (c.spec.kind !== 'envoy') return;
    const state = this.#byClass.get(c.key);
    if (state === undefined || state.mesh !== sources.mesh) {
      this.build(c, sources);
      return;
    }
    const proxy = proxyOf(c);
    let next: Map<string, NameTableEntry> | undefined;
    for (const host of hosts) {
      this.hostsComputed++;
      const entry = nameTableEntry(this.#o.registry.servicesByHost.lookup(host), proxy, sources.mesh);
      if (sameNameTableEntry(entry, state.table.get(host))) continue;
      next ??= new Map(state.table);
      if (entry === undefined) next.delete(host);
      else next.set(host, entry);
    }
    if (next === undefined) return;
    state.table = sortNameTable(next);
    this.#publish(c.key, state.table);
  }

  /** The class was dropped (the cache forgets its resources itself). */
  forget(classKey: string): void {
    this.#byClass.delete(classKey);
  }

  #publish(classKey: string, table: ReadonlyMap<string, NameTableEntry>): void {
    this.#o.cache.setResources(classKey, NAME_TABLE, new Map([['', { version: `nds.${++this.#version}`, message: nameTableMessage(table) }]]));
  }
}

function proxyOf(c: ClassState): NameTableProxy {
  return { namespace: c.spec.client.namespace, network: c.spec.client.network };
}

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

/** One client's table, shared by every class of that client (namespace, network): computed once per push. */
interface ClientTable {
  readonly proxy: NameTableProxy;
  mesh: MeshSettings;
  table: ReadonlyMap<string, NameTableEntry>;
  /** The table as a cache resource: one message and version for all of the client's classes. */
  resource: { readonly version: string; readonly message: NameTable };
  readonly classes: Set<string>;
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
  /** Tables by client key (`namespace|network`): what a table depends on besides the services. */
  readonly #byClient = new Map<string, ClientTable>();
  readonly #clientOfClass = new Map<string, string>();
  #version = 0;
  /** Host entries computed so far (a full build counts every host of the mesh). */
  hostsComputed = 0;

  constructor(options: NameTablesOptions) {
    this.#o = options;
  }

  /** The class's table as last handed to the cache (undefined: not an Envoy class, or not built). */
  tableOf(classKey: string): ReadonlyMap<string, NameTableEntry> | undefined {
    const client = this.#clientOfClass.get(classKey);
    return client === undefined ? undefined : this.#byClient.get(client)?.table;
  }

  /** A new class: its client's table (built from every service when the client has none yet). */
  build(c: ClassState, sources: ViewSources): void {
    if (c.spec.kind !== 'envoy') return;
    const proxy = proxyOf(c);
    const key = `${proxy.namespace}|${proxy.network}`;
    let state = this.#byClient.get(key);
    if (state === undefined) {
      this.hostsComputed += sources.services.length;
      const table = buildNameTable(sources.services, proxy, sources.mesh);
      state = { proxy, mesh: sources.mesh, table, resource: this.#resource(table), classes: new Set() };
      this.#byClient.set(key, state);
    } else if (state.mesh !== sources.mesh) this.#update(state, sources, undefined);
    state.classes.add(c.key);
    this.#clientOfClass.set(c.key, key);
    this.#o.cache.setResources(c.key, NAME_TABLE, new Map([['', state.resource]]));
  }

  /**
   * After a push that changed `hosts`: recomputes those entries once per client (every entry when
   * the mesh settings changed) and hands the cache the table of each client whose table changed.
   */
  refresh(sources: ViewSources, hosts: ReadonlySet<string>): void {
    for (const state of this.#byClient.values()) this.#update(state, sources, hosts);
  }

  /** The class was dropped (the cache forgets its resources itself); a client without classes goes. */
  forget(classKey: string): void {
    const client = this.#clientOfClass.get(classKey);
    if (client === undefined) return;
    this.#clientOfClass.delete(classKey);
    const state = this.#byClient.get(client);
    state?.classes.delete(classKey);
    if (state?.classes.size === 0) this.#byClient.delete(client);
  }

  #fullBuild(state: ClientTable, sources: ViewSources): void {
    this.hostsComputed += sources.services.length;
    state.mesh = sources.mesh;
    state.table = buildNameTable(sources.services, state.proxy, sources.mesh);
    state.resource = this.#resource(state.table);
  }

  /** Recomputes `hosts` (undefined or a new mesh: everything) and publishes the table to the client's classes if it changed. */
  #update(state: ClientTable, sources: ViewSources, hosts: ReadonlySet<string> | undefined): void {
    const before = state.table;
    if (hosts === undefined || state.mesh !== sources.mesh) this.#fullBuild(state, sources);
    else {
      let next: Map<string, NameTableEntry> | undefined;
      for (const host of hosts) {
        this.hostsComputed++;
        const entry = nameTableEntry(this.#o.registry.servicesByHost.lookup(host), state.proxy, sources.mesh);
        if (sameNameTableEntry(entry, state.table.get(host))) continue;
        next ??= new Map(state.table);
        if (entry === undefined) next.delete(host);
        else next.set(host, entry);
      }
      if (next === undefined) return;
      state.table = sortNameTable(next);
      state.resource = this.#resource(state.table);
    }
    if (state.table === before) return;
    for (const classKey of state.classes) this.#o.cache.setResources(classKey, NAME_TABLE, new Map([['', state.resource]]));
  }

  #resource(table: ReadonlyMap<string, NameTableEntry>): ClientTable['resource'] {
    return { version: `nds.${++this.#version}`, message: nameTableMessage(table) };
  }
}

function proxyOf(c: ClassState): NameTableProxy {
  return { namespace: c.spec.client.namespace, network: c.spec.client.network };
}

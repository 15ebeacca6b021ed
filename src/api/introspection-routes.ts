/**
 * Live introspection of a running serve over its HTTP port (issue 13), read by the CLI:
 * - `/debug/config_dump?proxy=P`: one proxy's resources per xDS type, as sent, as ACKed and as it
 *   would get them now, decoded to Envoy JSON (`proxy-config`, `proxy-status PROXY`); P is a node id
 *   or the name `proxy-status` prints. 404 names the connected proxies when P is none of them.
 * - `/debug/endpoints_report?...`: the `endpoints` report (cli-contract) from the live registry,
 *   with auto-registered workloads and their health (`endpoints --server`). Parameters: `host`,
 *   `port`, `namespace`, `locality`, `network`, `labels` (a JSON object), `ip`, `explain=true`.
 * - `/debug/ndsz?proxy=P`: the DNS name table (NDS) the control plane has for proxy P's view now, as
 *   JSON `{proxy, version, table: {host: {ips, registry, shortname?, namespace?}}}` (Istio's
 *   `/debug/ndsz?proxyID=`, also accepted); 404 as for config_dump, and for a proxy without a table
 *   (a proxyless gRPC client).
 * - `/version`: the control plane's version and instance (`version --server`).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { NameTableSchema } from '../gen/istio/networking/nds/v1/nds_pb.js';
import type { TypeSnapshot } from '../xds/cache/resource-cache.js';
import { NAME_TABLE } from '../xds/types/resource-types.js';
import { endpointsReport } from '../status/endpoints-report.js';
import { meshbridgeVersion } from '../lib/version.js';
import type { Registry } from '../registry/registry.js';
import type { ClientProxyOptions } from '../registry/view/client.js';
import type { ViewFilter } from '../registry/view/clusters.js';
import { configDump, findProxyStream } from '../status/config-dump.js';
import { proxyName } from '../status/sync-status.js';
import type { StreamResources } from '../xds/server/ads-stream.js';
import { generatedTypeRegistry } from '../xds/types/json-registry.js';
import { json, type HttpHandler, type HttpResponse } from './http-api.js';

export interface IntrospectionSources {
  readonly registry: Registry;
  readonly streams: () => readonly StreamResources[];
  readonly instance: string;
  /** The current snapshot of one type in one view (the resource cache). */
  readonly current: (view: string, typeUrl: string) => TypeSnapshot | undefined;
}

/** The version document of `/version` (and of `meshbridge version`'s client part). */
export interface VersionInfo {
  readonly version: string;
  readonly node: string;
  readonly instance?: string;
}

export function introspectionRoutes(s: IntrospectionSources): Map<string, HttpHandler> {
  const r = new Map<string, HttpHandler>();
  const notConnected = (wanted: string, streams: readonly StreamResources[]): HttpResponse => {
    const connected = [...new Set(streams.map((x) => proxyName(x.stream.proxy)))].sort();
    return json({ error: `no connected proxy ${JSON.stringify(wanted)}`, proxies: connected }, 404);
  };
  r.set('/debug/config_dump', async (url) => {
    const wanted = url.searchParams.get('proxy') ?? '';
    const streams = s.streams();
    const found = findProxyStream(streams, wanted);
    if (found === undefined) return notConnected(wanted, streams);
    return json(configDump(found, await generatedTypeRegistry()));
  });
  r.set('/debug/ndsz', (url) => {
    const wanted = url.searchParams.get('proxy') ?? url.searchParams.get('proxyID') ?? '';
    const streams = s.streams();
    const found = findProxyStream(streams, wanted);
    if (found === undefined) return notConnected(wanted, streams);
    const snapshot = s.current(found.stream.view, NAME_TABLE.typeUrl);
    const resource = snapshot?.resources.get('');
    if (snapshot === undefined || resource === undefined) return json({ error: `no name table for ${JSON.stringify(wanted)} (only Envoy-flavour proxies and agents have one)` }, 404);
    const table: Record<string, { ips: string[]; registry: string; shortname?: string; namespace?: string }> = {};
    for (const [host, e] of Object.entries(fromBinary(NameTableSchema, resource.any.value).table)) {
      table[host] = { ips: e.ips, registry: e.registry, ...(e.shortname !== '' ? { shortname: e.shortname } : {}), ...(e.namespace !== '' ? { namespace: e.namespace } : {}) };
    }
    return json({ proxy: found.stream.proxy.id, version: snapshot.version, table });
  });
  r.set('/debug/endpoints_report', (url) => {
    const q = url.searchParams;
    const report = endpointsReport(s.registry, clientOptions(q), viewFilter(q), q.get('explain') === 'true');
    return json(report);
  });
  r.set('/version', () => json({ version: meshbridgeVersion(), node: process.version, instance: s.instance } satisfies VersionInfo));
  return r;
}

/** The client of `/debug/endpoints_report`; bad parameters are an Error (HTTP 500 with its message). */
function clientOptions(q: URLSearchParams): ClientProxyOptions {
  const labels = q.get('labels');
  let parsed: Record<string, string> | undefined;
  if (labels !== null) {
    const value: unknown = JSON.parse(labels);
    if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
      throw new Error('labels must be a JSON object of strings');
    }
    parsed = value as Record<string, string>;
  }
  const opt = (name: string): string | undefined => q.get(name) ?? undefined;
  const locality = opt('locality');
  const network = opt('network');
  const ip = opt('ip');
  return {
    namespace: opt('namespace') ?? 'default',
    ...(locality !== undefined ? { locality } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(parsed !== undefined ? { labels: parsed } : {}),
    ...(ip !== undefined ? { ip } : {}),
  };
}

function viewFilter(q: URLSearchParams): ViewFilter {
  const host = q.get('host');
  const port = q.get('port');
  return { ...(host !== null ? { host } : {}), ...(port !== null ? { port: Number(port) } : {}) };
}

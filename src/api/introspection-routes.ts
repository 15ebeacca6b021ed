/**
 * Live introspection of a running serve over its HTTP port (issue 13), read by the CLI:
 * - `/debug/config_dump?proxy=P`: one proxy's resources per xDS type, as sent, as ACKed and as it
 *   would get them now, decoded to Envoy JSON (`proxy-config`, `proxy-status PROXY`); P is a node id
 *   or the name `proxy-status` prints. 404 names the connected proxies when P is none of them.
 * - `/debug/endpoints_report?...`: the `endpoints` report (cli-contract) from the live registry,
 *   with auto-registered workloads and their health (`endpoints --server`). Parameters: `host`,
 *   `port`, `namespace`, `locality`, `network`, `labels` (a JSON object), `ip`, `explain=true`.
 * - `/version`: the control plane's version and instance (`version --server`).
 */
import { endpointsReport } from '../status/endpoints-report.js';
import { meshbridgeVersion } from '../lib/version.js';
import type { Registry } from '../registry/registry.js';
import type { ClientProxyOptions } from '../registry/view/client.js';
import type { ViewFilter } from '../registry/view/clusters.js';
import { configDump, findProxyStream } from '../status/config-dump.js';
import { proxyName } from '../status/sync-status.js';
import type { StreamResources } from '../xds/server/ads-stream.js';
import { generatedTypeRegistry } from '../xds/types/json-registry.js';
import { json, type HttpHandler } from './http-api.js';

export interface IntrospectionSources {
  readonly registry: Registry;
  readonly streams: () => readonly StreamResources[];
  readonly instance: string;
}

/** The version document of `/version` (and of `meshbridge version`'s client part). */
export interface VersionInfo {
  readonly version: string;
  readonly node: string;
  readonly instance?: string;
}

export function introspectionRoutes(s: IntrospectionSources): Map<string, HttpHandler> {
  const r = new Map<string, HttpHandler>();
  r.set('/debug/config_dump', async (url) => {
    const wanted = url.searchParams.get('proxy') ?? '';
    const streams = s.streams();
    const found = findProxyStream(streams, wanted);
    if (found === undefined) {
      const connected = [...new Set(streams.map((x) => proxyName(x.stream.proxy)))].sort();
      return json({ error: `no connected proxy ${JSON.stringify(wanted)}`, proxies: connected }, 404);
    }
    return json(configDump(found, await generatedTypeRegistry()));
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

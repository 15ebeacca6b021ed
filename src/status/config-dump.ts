/**
 * One proxy's configuration as the control plane holds it (`/debug/config_dump`, read by
 * `meshbridge proxy-config` and `proxy-status PROXY`): per xDS type the resources of the version
 * last sent, of the version last ACKed and of the current one, each decoded to Envoy JSON from the
 * bytes that were (or would be) sent.
 */
import type { JsonValue, Registry } from '@bufbuild/protobuf';
import type { StreamResources, VersionedResources } from '../xds/server/ads-stream.js';
import { anyJson } from '../xds/types/json-registry.js';
import { proxyName, TYPE_SHORT_NAMES } from './sync-status.js';

export interface DumpedResources {
  readonly version: string;
  /** Sorted by name; each the decoded resource with its `@type`. */
  readonly resources: readonly JsonValue[];
}

export interface TypeDump {
  /** CDS, LDS, EDS, RDS, SDS (or the type URL when it has no short name). */
  readonly type: string;
  readonly typeUrl: string;
  readonly sent?: DumpedResources;
  readonly acked?: DumpedResources;
  readonly current?: DumpedResources;
}

export interface ConfigDump {
  /** The node id. */
  readonly proxy: string;
  /** The name `proxy-status` prints (`<workload>.<namespace>`). */
  readonly name: string;
  readonly kind: string;
  readonly namespace: string;
  readonly stream: string;
  readonly connectedAt: string;
  readonly types: readonly TypeDump[];
}

/**
 * The streams of the proxy `wanted` names: a node id, or the name `proxy-status` prints. A proxy
 * with several streams (reconnects overlapping) is shown by its newest.
 */
export function findProxyStream(streams: readonly StreamResources[], wanted: string): StreamResources | undefined {
  const matching = streams.filter((s) => s.stream.proxy.id === wanted || proxyName(s.stream.proxy) === wanted);
  return matching.sort((a, b) => b.stream.connectedAt - a.stream.connectedAt)[0];
}

export function configDump(s: StreamResources, registry: Registry): ConfigDump {
  const dump = (v: VersionedResources | undefined): DumpedResources | undefined =>
    v === undefined ? undefined : { version: v.version, resources: v.resources.map((r) => anyJson(registry, r.any)) };
  return {
    proxy: s.stream.proxy.id,
    name: proxyName(s.stream.proxy),
    kind: s.stream.proxy.kind,
    namespace: s.stream.proxy.namespace ?? '',
    stream: s.stream.streamId,
    connectedAt: new Date(s.stream.connectedAt).toISOString(),
    types: s.types.map((t): TypeDump => {
      const sent = dump(t.sent);
      const acked = dump(t.acked);
      const current = dump(t.current);
      return { type: TYPE_SHORT_NAMES[t.typeUrl] ?? t.typeUrl, typeUrl: t.typeUrl, ...(sent ? { sent } : {}), ...(acked ? { acked } : {}), ...(current ? { current } : {}) };
    }),
  };
}

/**
 * A minimal protobuf wire-format reader for the load generator's hot path. Simulated proxies read
 * hundreds of EDS responses per second per process; decoding them with protobuf-es `fromBinary`
 * costs about 1 ms per 10 KB (grpc-xds-notes §8), so responses are scanned instead: only the fields
 * a proxy needs (version, nonce, type URL, resource names, endpoint address / weight / health).
 */

export interface Field {
  readonly no: number;
  readonly wire: number;
  /** Varint value (wire type 0). */
  readonly int: number;
  /** Payload bounds (wire type 2). */
  readonly start: number;
  readonly end: number;
}

function readVarint(buf: Uint8Array, pos: { p: number }): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos.p++];
    if (b === undefined) throw new Error('truncated varint');
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return result;
    mul *= 128;
  }
  throw new Error('varint too long');
}

/** Calls `fn` for every field of the message in buf[start, end). */
export function forEachField(buf: Uint8Array, start: number, end: number, fn: (f: Field) => void): void {
  const pos = { p: start };
  while (pos.p < end) {
    const tag = readVarint(buf, pos);
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    switch (wire) {
      case 0: {
        const v = readVarint(buf, pos);
        fn({ no, wire, int: v, start: 0, end: 0 });
        break;
      }
      case 1:
        pos.p += 8;
        break;
      case 2: {
        const len = readVarint(buf, pos);
        const s = pos.p;
        pos.p += len;
        if (pos.p > end) throw new Error('truncated field');
        fn({ no, wire, int: 0, start: s, end: s + len });
        break;
      }
      case 5:
        pos.p += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

const decoder = new TextDecoder();
export function str(buf: Uint8Array, f: Field): string {
  return decoder.decode(buf.subarray(f.start, f.end));
}

export interface RawResource {
  readonly typeUrl: string;
  /** The resource's encoded message (a view into the response buffer). */
  readonly value: Uint8Array;
}

export interface RawResponse {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: RawResource[];
}

/** envoy.service.discovery.v3.DiscoveryResponse: version_info=1, resources=2 (Any), type_url=4, nonce=5. */
export function scanResponse(buf: Uint8Array): RawResponse {
  let versionInfo = '';
  let typeUrl = '';
  let nonce = '';
  const resources: RawResource[] = [];
  forEachField(buf, 0, buf.length, (f) => {
    if (f.wire !== 2) return;
    if (f.no === 1) versionInfo = str(buf, f);
    else if (f.no === 4) typeUrl = str(buf, f);
    else if (f.no === 5) nonce = str(buf, f);
    else if (f.no === 2) {
      let t = '';
      let value: Uint8Array = new Uint8Array();
      forEachField(buf, f.start, f.end, (a) => {
        if (a.no === 1 && a.wire === 2) t = str(buf, a);
        else if (a.no === 2 && a.wire === 2) value = buf.subarray(a.start, a.end);
      });
      resources.push({ typeUrl: t, value });
    }
  });
  return { versionInfo, typeUrl, nonce, resources };
}

/** The first string field `no` of a message (resource names are field 1 in Listener, Cluster, RouteConfiguration and CLA). */
export function firstString(buf: Uint8Array, no: number): string {
  let out = '';
  let found = false;
  forEachField(buf, 0, buf.length, (f) => {
    if (!found && f.no === no && f.wire === 2) {
      out = str(buf, f);
      found = true;
    }
  });
  return out;
}

/** One endpoint of a ClusterLoadAssignment as a proxy sees it. */
export interface SeenEndpoint {
  readonly weight: number;
  /** envoy.config.core.v3.HealthStatus (0 UNKNOWN, 1 HEALTHY, 2 UNHEALTHY, 3 DRAINING...). */
  readonly health: number;
  readonly priority: number;
}

/**
 * ClusterLoadAssignment: cluster_name=1, endpoints=2 (LocalityLbEndpoints: lb_endpoints=2, priority=5).
 * LbEndpoint: endpoint=1 (Endpoint.address=1 → Address.socket_address=1 → address=2, port_value=3),
 * health_status=2, load_balancing_weight=4 (UInt32Value.value=1). Keyed `address:port`.
 */
export function scanLoadAssignment(buf: Uint8Array): { clusterName: string; endpoints: Map<string, SeenEndpoint> } {
  let clusterName = '';
  const endpoints = new Map<string, SeenEndpoint>();
  forEachField(buf, 0, buf.length, (f) => {
    if (f.no === 1 && f.wire === 2) clusterName = str(buf, f);
    else if (f.no === 2 && f.wire === 2) {
      let priority = 0;
      const lbs: Field[] = [];
      forEachField(buf, f.start, f.end, (g) => {
        if (g.no === 2 && g.wire === 2) lbs.push(g);
        else if (g.no === 5 && g.wire === 0) priority = g.int;
      });
      for (const lb of lbs) {
        let address = '';
        let port = 0;
        let health = 0;
        let weight = 1;
        forEachField(buf, lb.start, lb.end, (h) => {
          if (h.no === 1 && h.wire === 2) {
            forEachField(buf, h.start, h.end, (ep) => {
              if (ep.no !== 1 || ep.wire !== 2) return;
              forEachField(buf, ep.start, ep.end, (addr) => {
                if (addr.no !== 1 || addr.wire !== 2) return;
                forEachField(buf, addr.start, addr.end, (sa) => {
                  if (sa.no === 2 && sa.wire === 2) address = str(buf, sa);
                  else if (sa.no === 3 && sa.wire === 0) port = sa.int;
                });
              });
            });
          } else if (h.no === 2 && h.wire === 0) health = h.int;
          else if (h.no === 4 && h.wire === 2) {
            weight = 0;
            forEachField(buf, h.start, h.end, (w) => {
              if (w.no === 1 && w.wire === 0) weight = w.int;
            });
          }
        });
        endpoints.set(`${address}:${port}`, { weight, health, priority });
      }
    }
  });
  return { clusterName, endpoints };
}

export interface RawDeltaResponse {
  readonly typeUrl: string;
  readonly nonce: string;
  readonly systemVersionInfo: string;
  /** Each resource's name and encoded message (a view into the response buffer). */
  readonly resources: { readonly name: string; readonly value: Uint8Array }[];
  readonly removed: string[];
}

/**
 * envoy.service.discovery.v3.DeltaDiscoveryResponse: system_version_info=1, resources=2 (Resource:
 * version=1, resource=2 (Any: value=2), name=3), type_url=4, nonce=5, removed_resources=6.
 */
export function scanDeltaResponse(buf: Uint8Array): RawDeltaResponse {
  let typeUrl = '';
  let nonce = '';
  let systemVersionInfo = '';
  const resources: { name: string; value: Uint8Array }[] = [];
  const removed: string[] = [];
  forEachField(buf, 0, buf.length, (f) => {
    if (f.wire !== 2) return;
    if (f.no === 1) systemVersionInfo = str(buf, f);
    else if (f.no === 4) typeUrl = str(buf, f);
    else if (f.no === 5) nonce = str(buf, f);
    else if (f.no === 6) removed.push(str(buf, f));
    else if (f.no === 2) {
      let name = '';
      let value: Uint8Array = new Uint8Array();
      forEachField(buf, f.start, f.end, (r) => {
        if (r.wire !== 2) return;
        if (r.no === 3) name = str(buf, r);
        else if (r.no === 2) {
          forEachField(buf, r.start, r.end, (a) => {
            if (a.no === 2 && a.wire === 2) value = buf.subarray(a.start, a.end);
          });
        }
      });
      resources.push({ name, value });
    }
  });
  return { typeUrl, nonce, systemVersionInfo, resources, removed };
}

/**
 * A top-level message split into some of its length-delimited fields and the rest: each listed
 * field's string value (its last occurrence) and the other fields' bytes, in order (tags included).
 * Used to key responses by everything but their per-stream fields (nonce, version).
 */
export function splitOutFields(buf: Uint8Array, fields: readonly number[]): { values: Map<number, string>; rest: Uint8Array[] } {
  const pos = { p: 0 };
  const values = new Map<number, string>();
  const rest: Uint8Array[] = [];
  let keptFrom = 0;
  while (pos.p < buf.length) {
    const tagAt = pos.p;
    const tag = readVarint(buf, pos);
    const wire = tag & 7;
    if (wire === 0) readVarint(buf, pos);
    else if (wire === 1) pos.p += 8;
    else if (wire === 5) pos.p += 4;
    else if (wire === 2) {
      const len = readVarint(buf, pos);
      const start = pos.p;
      pos.p += len;
      if (pos.p > buf.length) throw new Error('truncated field');
      const no = Math.floor(tag / 8);
      if (fields.includes(no)) {
        values.set(no, decoder.decode(buf.subarray(start, pos.p)));
        if (tagAt > keptFrom) rest.push(buf.subarray(keptFrom, tagAt));
        keptFrom = pos.p;
      }
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  if (buf.length > keptFrom) rest.push(buf.subarray(keptFrom));
  return { values, rest };
}

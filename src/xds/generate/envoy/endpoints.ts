/**
 * ClusterLoadAssignments for Envoy (EDS, and the inline load assignment of DNS clusters): the
 * shared `loadAssignment` (EDS-5..EDS-10, `proxyless: false`) with its endpoint metadata in the
 * form Envoy matches on.
 *
 * Why the fix-up: in protobuf-es v2 a `google.protobuf.Struct` field (here
 * `Metadata.filter_metadata` values) is a plain JSON object, but `endpointMetadata` in common.ts
 * writes the protobuf Struct *message* shape (`{fields: {tlsMode: {kind: {case, value}}}}`), which
 * then goes on the wire as a struct with a key "fields". Envoy's transport_socket_matches
 * (`{tlsMode: "istio"}`, C-6/EDS-9) would never match it and auto mTLS would silently fall back to
 * plaintext. `plainStruct` turns that shape back into `{tlsMode: "istio"}`; it leaves plain JSON
 * untouched, so it becomes a no-op once common.ts is fixed.
 * TODO: fix endpointMetadata in ../common.ts (outside this flavour's folder) and drop this.
 */
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { ClusterLoadAssignment } from '../../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { LocalityGroup } from '../../../registry/view/locality-groups.js';
import { loadAssignment } from '../common.js';

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A `google.protobuf.Value` message shape (`{kind: {case, value}}`) as plain JSON. */
function plainValue(v: JsonValue | undefined): JsonValue {
  if (!isObject(v) || !isObject(v['kind'])) return v ?? null;
  const { case: c, value } = v['kind'];
  switch (c) {
    case 'structValue':
      return plainStruct(isObject(value) ? value : {});
    case 'listValue':
      return isObject(value) && Array.isArray(value['values']) ? value['values'].map(plainValue) : [];
    case 'nullValue':
      return null;
    default:
      return value ?? null;
  }
}

/** A Struct message shape (`{fields: {...}}`) as plain JSON; anything else unchanged. */
export function plainStruct(s: JsonObject): JsonObject {
  const keys = Object.keys(s);
  const fields = s['fields'];
  if (keys.length !== 1 || !isObject(fields)) return s;
  if (!Object.values(fields).every((f) => isObject(f) && isObject(f['kind']))) return s;
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, plainValue(f)]));
}

/** The Envoy form of a cluster's endpoints (`proxyless: false`: every endpoint, every group). */
export function envoyLoadAssignment(name: string, groups: readonly LocalityGroup[], clusterId: string): ClusterLoadAssignment {
  const cla = loadAssignment(name, groups, { proxyless: false, clusterId });
  // Fixed up before the message is handed to the cache (messages are immutable after that).
  for (const group of cla.endpoints) {
    for (const ep of group.lbEndpoints) {
      const fm = ep.metadata?.filterMetadata;
      if (!fm) continue;
      for (const key of Object.keys(fm)) {
        const v = fm[key];
        if (v) fm[key] = plainStruct(v);
      }
    }
  }
  return cla;
}

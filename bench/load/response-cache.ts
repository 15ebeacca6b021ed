/**
 * Decoding shared by the simulated Envoy sidecars of one load process (S6). A control plane sends
 * the same resources to every sidecar; what differs per stream is the nonce and the version (each
 * sidecar has a view of its own, so its own version counter). Identical bodies decode identically,
 * so a response is decoded once per distinct body — keyed by a hash of every byte of the response
 * except its version and nonce fields — and every sidecar receiving it gets the same decoded
 * (immutable) resources, plus its own version and nonce to ACK. Each sidecar still receives, hashes and
 * ACKs every response it is sent; what it keeps of its own is only what recognises changes (its
 * cluster → EDS name map on delta, its subscription, the EDS names not yet received).
 */
import { createHash } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import { Cluster_DiscoveryType, ClusterSchema } from '../../src/gen/envoy/config/cluster/v3/cluster_pb.js';
import { firstString, scanDeltaResponse, scanResponse, splitOutFields } from '../lib/wire.js';
import { CDS } from './sim-proxy.js';

/** Per-stream fields of both DiscoveryResponse and DeltaDiscoveryResponse: (system_)version_info and nonce. */
const VERSION_FIELD = 1;
const NONCE_FIELD = 5;
/** Bound on the remembered cluster decodings (the whole memo is dropped when reached). */
const MAX_CLUSTER_DECODINGS = 200_000;

export interface DecodedResource {
  readonly name: string;
  /** The encoded resource (a view into the first response that carried this body). */
  readonly value: Uint8Array;
  /** Clusters: the EDS service name, or '' when the cluster is not an EDS cluster. '' for other types. */
  readonly edsName: string;
}

/** A response as every sidecar reads it, nonce aside. Shared: never modify. */
export interface DecodedResponse {
  readonly delta: boolean;
  readonly typeUrl: string;
  readonly resources: readonly DecodedResource[];
  /** Delta: removed resource names. */
  readonly removed: readonly string[];
  /** Clusters: the distinct EDS names of this response's clusters, sorted and interned (see `internNames`). */
  readonly edsNames: readonly string[];
}

/** The EDS service name of an encoded Cluster, or '' when it is not an EDS cluster. */
function decodeEdsName(value: Uint8Array): string {
  const c = fromBinary(ClusterSchema, value);
  const eds = c.clusterDiscoveryType.case === 'type' && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS;
  return eds ? c.edsClusterConfig?.serviceName || c.name : '';
}

export class ResponseCache {
  readonly stats = { hits: 0, misses: 0, evictions: 0 };
  /** Body key → decoded response, least recently used first. */
  readonly #decoded = new Map<string, { response: DecodedResponse; bytes: number }>();
  #bytes = 0;
  /** Name lists by content, so that sidecars with the same subscription share one array. */
  readonly #names = new Map<string, readonly string[]>();
  /**
   * Clusters by content → EDS name: a sidecar's cluster list differs from the others' by its own
   * inbound clusters, so the other clusters are decoded once per distinct encoding, not per response.
   */
  readonly #edsNames = new Map<string, string>();

  /** @param maxBytes bound on the response bytes the cache keeps alive (least recently used evicted first). */
  constructor(private readonly maxBytes: number) {}

  /**
   * The version (version_info or system_version_info) and nonce of `bytes`, and its decoded body
   * (decoded now unless an identical body was seen).
   */
  decode(bytes: Uint8Array, delta: boolean): { version: string; nonce: string; response: DecodedResponse } {
    const { values, rest } = splitOutFields(bytes, [VERSION_FIELD, NONCE_FIELD]);
    const version = values.get(VERSION_FIELD) ?? '';
    const nonce = values.get(NONCE_FIELD) ?? '';
    const hash = createHash('sha1').update(delta ? 'd' : 's');
    for (const part of rest) hash.update(part);
    const key = hash.digest('base64');
    const hit = this.#decoded.get(key);
    if (hit !== undefined) {
      this.stats.hits++;
      this.#decoded.delete(key);
      this.#decoded.set(key, hit);
      return { version, nonce, response: hit.response };
    }
    this.stats.misses++;
    const response = delta ? this.#decodeDelta(bytes) : this.#decodeSotw(bytes);
    this.#decoded.set(key, { response, bytes: bytes.length });
    this.#bytes += bytes.length;
    for (const [k, v] of this.#decoded) {
      if (this.#bytes <= this.maxBytes || k === key) break;
      this.#decoded.delete(k);
      this.#bytes -= v.bytes;
      this.stats.evictions++;
    }
    return { version, nonce, response };
  }

  /** One shared array per distinct list of names (the argument must be sorted and not modified afterwards). */
  internNames(sorted: readonly string[]): readonly string[] {
    const key = sorted.join('\n');
    const known = this.#names.get(key);
    if (known !== undefined) return known;
    this.#names.set(key, sorted);
    return sorted;
  }

  #edsNameOf(cluster: Uint8Array): string {
    const key = createHash('sha1').update(cluster).digest('base64');
    let name = this.#edsNames.get(key);
    if (name === undefined) {
      if (this.#edsNames.size >= MAX_CLUSTER_DECODINGS) this.#edsNames.clear();
      this.#edsNames.set(key, (name = decodeEdsName(cluster)));
    }
    return name;
  }

  #decodeSotw(bytes: Uint8Array): DecodedResponse {
    const r = scanResponse(bytes);
    const isCds = r.typeUrl === CDS;
    const resources = r.resources.map((res) => ({ name: firstString(res.value, 1), value: res.value, edsName: isCds ? this.#edsNameOf(res.value) : '' }));
    return this.#finish({ delta: false, typeUrl: r.typeUrl, resources, removed: [] });
  }

  #decodeDelta(bytes: Uint8Array): DecodedResponse {
    const r = scanDeltaResponse(bytes);
    const isCds = r.typeUrl === CDS;
    const resources = r.resources.map((res) => ({ name: res.name, value: res.value, edsName: isCds ? this.#edsNameOf(res.value) : '' }));
    return this.#finish({ delta: true, typeUrl: r.typeUrl, resources, removed: r.removed });
  }

  #finish(r: Omit<DecodedResponse, 'edsNames'>): DecodedResponse {
    const edsNames = r.typeUrl === CDS ? this.internNames(distinctSorted(r.resources.map((c) => c.edsName))) : [];
    return Object.freeze({ ...r, edsNames });
  }
}

/** The distinct non-empty names, sorted. */
export function distinctSorted(names: Iterable<string>): string[] {
  const out = [...new Set(names)].filter((n) => n !== '');
  out.sort();
  return out;
}

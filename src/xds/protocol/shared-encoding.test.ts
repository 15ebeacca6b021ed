/**
 * The response writer (shared-encoding.ts) writes each stream's bytes from the parts; they must be
 * exactly protobuf-es's encoding of the whole message, whatever the field values (empty strings,
 * multi-byte UTF-8, lengths that need multi-byte varints) and for the fields it leaves to
 * protobuf-es (canary, control_plane, a Resource's ttl or aliases).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { anyPack, DurationSchema } from '@bufbuild/protobuf/wkt';
import { ClusterLoadAssignmentSchema } from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { DeltaDiscoveryResponseSchema, DiscoveryResponseSchema, ResourceSchema } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';
import type { EncodedResource } from '../types/encoded-resource.js';
import { deltaResponse, encodeDeltaResponse, encodeDeltaResponseParts, encodeSotwResponse, encodeSotwResponseParts, sotwResponse } from './shared-encoding.js';

const TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** A packed CLA of about `endpoints` × 30 bytes (lengths from 1-byte to 3-byte varints). */
const cla = (name: string, endpoints: number) =>
  anyPack(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: Array.from({ length: endpoints }, (_, i) => ({ loadBalancingWeight: i + 1, priority: i % 3 })) }));

const resourceSets = [[], [cla('a', 0)], [cla('outbound|80||ä.ns.svc.cluster.local', 3), cla('b', 200)], [cla('big', 5000)]];
const strings = ['', 'v1', 'mxcqiugec7b1.4711', 'ü-version-é', 'x'.repeat(200)];

test('SotW responses are written byte-identical to protobuf-es for every combination of parts', () => {
  for (const resources of resourceSets)
    for (const versionInfo of strings)
      for (const nonce of strings) {
        const m = create(DiscoveryResponseSchema, { versionInfo, nonce, typeUrl: TYPE, resources });
        assert.deepEqual(new Uint8Array(encodeSotwResponse(m)), toBinary(DiscoveryResponseSchema, m));
      }
  const empty = create(DiscoveryResponseSchema, {});
  assert.deepEqual(new Uint8Array(encodeSotwResponse(empty)), toBinary(DiscoveryResponseSchema, empty));
});

test('SotW fields the writer does not handle are encoded by protobuf-es', () => {
  const m = create(DiscoveryResponseSchema, { versionInfo: 'v', nonce: 'n', typeUrl: TYPE, resources: [cla('a', 1)], canary: true, controlPlane: { identifier: 'cp' } });
  assert.deepEqual(new Uint8Array(encodeSotwResponse(m)), toBinary(DiscoveryResponseSchema, m));
});

test('delta responses are written byte-identical to protobuf-es, removals and empty names included', () => {
  const removedSets = [[], ['gone'], ['', 'ö', 'y'.repeat(300)]];
  for (const anys of resourceSets)
    for (const removedResources of removedSets)
      for (const version of strings) {
        const resources = anys.map((any, i) => create(ResourceSchema, { name: `r${i}-${version}`, version, resource: any }));
        resources.push(create(ResourceSchema, { name: 'no-body', version }));
        const m = create(DeltaDiscoveryResponseSchema, { systemVersionInfo: version, nonce: `n-${version}`, typeUrl: TYPE, resources, removedResources });
        assert.deepEqual(new Uint8Array(encodeDeltaResponse(m)), toBinary(DeltaDiscoveryResponseSchema, m));
      }
});

test('delta resources with fields the writer does not handle are encoded by protobuf-es', () => {
  for (const extra of [{ aliases: ['alias'] }, { ttl: create(DurationSchema, { seconds: 5n }) }, { cacheControl: { doNotCache: true } }, { resourceName: { name: 'n' } }]) {
    const m = create(DeltaDiscoveryResponseSchema, { systemVersionInfo: 'v', nonce: 'n', typeUrl: TYPE, resources: [create(ResourceSchema, { name: 'a', version: '1', resource: cla('a', 1), ...extra })] });
    assert.deepEqual(new Uint8Array(encodeDeltaResponse(m)), toBinary(DeltaDiscoveryResponseSchema, m));
  }
  const withNames = create(DeltaDiscoveryResponseSchema, { nonce: 'n', typeUrl: TYPE, removedResourceNames: [{ name: 'gone' }], controlPlane: { identifier: 'cp' } });
  assert.deepEqual(new Uint8Array(encodeDeltaResponse(withNames)), toBinary(DeltaDiscoveryResponseSchema, withNames));
});

test('a shared resource list keeps its encoding: every stream sending it, the first and the later ones, gets exactly its own bytes', () => {
  const chunk: EncodedResource[] = [cla('a', 3), cla('b', 200)].map((any, i) => ({ typeUrl: TYPE, name: `r${i}`, version: `v${i}`, any, sotwSize: 0 }));
  for (const nonce of ['n1', 'nonce-2', '', 'ü-3', 'n5']) {
    const sotw = sotwResponse('v1', TYPE, nonce, chunk);
    assert.deepEqual(new Uint8Array(encodeSotwResponse(sotw)), toBinary(DiscoveryResponseSchema, sotw));
    const delta = deltaResponse('v1', TYPE, nonce, chunk, nonce === '' ? [] : ['gone']);
    assert.deepEqual(new Uint8Array(encodeDeltaResponse(delta)), toBinary(DeltaDiscoveryResponseSchema, delta));
  }
});

test('in parts, a shared list is one part referenced by every stream (not copied) and the parts join to the message', () => {
  const chunk: EncodedResource[] = [cla('a', 3), cla('b', 200)].map((any, i) => ({ typeUrl: TYPE, name: `r${i}`, version: `v${i}`, any, sotwSize: 0 }));
  const sotwEntries = new Set<Uint8Array>();
  const deltaEntries = new Set<Uint8Array>();
  for (const nonce of ['n1', 'n2', 'n3']) {
    const sotw = sotwResponse(`v-${nonce}`, TYPE, nonce, chunk);
    const sotwParts = encodeSotwResponseParts(sotw);
    assert.deepEqual(new Uint8Array(Buffer.concat(sotwParts)), toBinary(DiscoveryResponseSchema, sotw));
    sotwEntries.add(sotwParts[1] ?? new Uint8Array());
    const delta = deltaResponse('v1', TYPE, nonce, chunk, ['gone']);
    const deltaParts = encodeDeltaResponseParts(delta);
    assert.deepEqual(new Uint8Array(Buffer.concat(deltaParts)), toBinary(DeltaDiscoveryResponseSchema, delta));
    deltaEntries.add(deltaParts[1] ?? new Uint8Array());
  }
  // The first use encodes the list; from the second on, every stream gets the kept bytes.
  assert.equal(sotwEntries.size, 2);
  assert.equal(deltaEntries.size, 2);
  const canary = create(DiscoveryResponseSchema, { versionInfo: 'v', nonce: 'n', typeUrl: TYPE, resources: [cla('a', 1)], canary: true });
  assert.equal(encodeSotwResponseParts(canary).length, 1, 'a message the writer leaves to protobuf-es is one part');
});

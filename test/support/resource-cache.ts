/** Filling a ResourceCache by hand, for tests of the xDS server without the generators. */
import type { Message } from '@bufbuild/protobuf';
import type { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import type { XdsResourceType } from '../../src/xds/types/resource-type.js';

let version = 0;

/** Sets the resources of `type` for `view` to `messages`, each under a version never used before in this process. */
export function putResources<M extends Message>(cache: ResourceCache, view: string, type: XdsResourceType, ...messages: M[]): void {
  cache.setResources(view, type, new Map(messages.map((m) => [type.nameOf(m), { version: String(++version), message: m }])));
}

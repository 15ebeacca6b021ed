// Public surface of the xDS transport (issue 3 foundation). The composition root (app/) and the
// generators (xds/generate, later) import from here; see README.md beside this file.
export { defineResourceType, typeUrlOf, type XdsResourceType } from './types/resource-type.js';
export {
  CLUSTER,
  ENDPOINT,
  LISTENER,
  RESOURCE_TYPES,
  ROUTE,
  SECRET,
  TypeUrl,
  resourceTypeOf,
  type KnownTypeUrl,
  type ResourceTypeMap,
} from './types/resource-types.js';
export { encodeResource, type EncodedResource } from './types/encoded-resource.js';
export {
  ResourceCache,
  newBootId,
  type ResourceCacheOptions,
  type ResourceInput,
  type ResourceSink,
  type ResourceSource,
  type TypeSnapshot,
  type ViewKey,
} from './cache/resource-cache.js';
export {
  DEFAULT_MAX_RESPONSE_BYTES,
  GRPC_DEFAULT_MAX_MESSAGE_BYTES,
  type AckRecord,
  type ErrorDetail,
  type NackRecord,
  type Receipt,
  type RequestKind,
  type TypeStatus,
} from './protocol/common.js';
export { SotwSession } from './protocol/sotw.js';
export { DeltaSession } from './protocol/delta.js';
export type { Subscription, SubscriptionChange } from './protocol/subscription.js';
export { XdsServer, type BoundAddress, type XdsServerOptions } from './server/xds-server.js';
export type { AdsProtocol, StreamInfo, StreamStatus, XdsEvent, XdsEventListener } from './server/events.js';
export { proxyIdentityFromNode, type ProxyIdentity, type ProxyKind } from '../model/mesh/proxy-identity.js';
export type { Locality } from '../model/mesh/locality.js';
export { adsServiceDefinition, ADS_SERVICE_NAME } from './server/ads-service.js';
export { AGENT_HELLO_TYPE_URL, HEALTH_INFORMATION_TYPE_URL, type Admission, type AdmitFn } from './server/ads-stream.js';

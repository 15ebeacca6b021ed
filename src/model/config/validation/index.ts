/**
 * Validation of meshbridge's input resources (Istio kinds, Kubernetes Pod/Service/Node and
 * meshbridge's own kinds), following istio-semantics.md §2. Pure: no I/O, no Node APIs.
 */
export { validateResource } from './validate-resource.js';
export type { ValidationOptions } from './resource-context.js';
export { KINDS } from './kinds.js';
export type { KindDefinition, KindFamily } from './kinds.js';
export { autoAllocationApplies, AUTOALLOCATE_LABEL, RESOLUTIONS } from './service-entry.js';
export type { Resolution } from './service-entry.js';
export * from './sub-validators.js';

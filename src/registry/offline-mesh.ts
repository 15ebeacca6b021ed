/**
 * The registry built once from a set of objects (validate / endpoints on files): the same wiring
 * `serve` uses, fed with one snapshot.
 */
import type { ConfigObject } from '../model/config/types.js';
import { buildRegistry, createInputs, replaceInputs, type Registry } from './registry.js';
import type { ViewSources } from './view/clusters.js';

export function registryFromObjects(objects: readonly ConfigObject[]): Registry {
  const inputs = createInputs();
  const registry = buildRegistry(inputs);
  replaceInputs(inputs, objects);
  return registry;
}

export function viewSourcesOf(registry: Registry): ViewSources {
  return {
    mesh: registry.mesh.value(),
    services: registry.services.list(),
    destinationRules: registry.inputs.DestinationRule.list(),
    peerAuthentications: registry.inputs.PeerAuthentication.list(),
    gateways: registry.gateways.value(),
  };
}

import type { LabelSelector, LocalityLbSetting, MeshConfig, MeshNetworks } from '../config/types.js';

/** Mesh-wide settings (cli-contract MeshConfig) with Istio's defaults (semantics §0). */
export interface MeshSettings {
  readonly trustDomain: string;
  readonly enableAutoMtls: boolean;
  readonly localityLbSetting: LocalityLbSetting;
  readonly defaultServiceExportTo: readonly string[];
  /**
   * The exportTo of DestinationRules that give none (DRS-*). As in Istio only "." (such rules are
   * private to their namespace) and "*" matter; anything else counts as "*".
   */
  readonly defaultDestinationRuleExportTo: readonly string[];
  readonly rootNamespace: string;
  readonly clusterId: string;
  /** Kubernetes Service host suffix: `<name>.<ns>.svc.<domainSuffix>`. */
  readonly domainSuffix: string;
  /** MeshConfig `discoverySelectors`: namespaces of a cluster that are read (none: all). */
  readonly discoverySelectors: readonly LabelSelector[];
}

export const DEFAULT_MESH_SETTINGS: MeshSettings = {
  trustDomain: 'cluster.local',
  enableAutoMtls: true,
  localityLbSetting: { enabled: true },
  defaultServiceExportTo: ['*'],
  defaultDestinationRuleExportTo: ['*'],
  rootNamespace: 'istio-system',
  clusterId: 'Kubernetes',
  domainSuffix: 'cluster.local',
  discoverySelectors: [],
};

/** The oldest MeshConfig wins; fields it leaves out keep their defaults. */
export function meshSettingsFrom(configs: readonly MeshConfig[]): MeshSettings {
  const sorted = [...configs].sort((a, b) => a.origin.order - b.origin.order);
  const spec = sorted[0]?.spec;
  if (!spec) return DEFAULT_MESH_SETTINGS;
  const d = DEFAULT_MESH_SETTINGS;
  return {
    trustDomain: nonEmpty(spec.trustDomain) ?? d.trustDomain,
    enableAutoMtls: typeof spec.enableAutoMtls === 'boolean' ? spec.enableAutoMtls : d.enableAutoMtls,
    localityLbSetting: spec.localityLbSetting ?? d.localityLbSetting,
    defaultServiceExportTo: Array.isArray(spec.defaultServiceExportTo) && spec.defaultServiceExportTo.length > 0 ? spec.defaultServiceExportTo : d.defaultServiceExportTo,
    defaultDestinationRuleExportTo:
      Array.isArray(spec.defaultDestinationRuleExportTo) && spec.defaultDestinationRuleExportTo.length > 0 ? spec.defaultDestinationRuleExportTo : d.defaultDestinationRuleExportTo,
    rootNamespace: nonEmpty(spec.rootNamespace) ?? d.rootNamespace,
    clusterId: nonEmpty(spec.clusterId) ?? d.clusterId,
    domainSuffix: d.domainSuffix,
    discoverySelectors: Array.isArray(spec.discoverySelectors) ? spec.discoverySelectors : d.discoverySelectors,
  };
}

function nonEmpty(s: unknown): string | undefined {
  return typeof s === 'string' && s !== '' ? s : undefined;
}

/** A network gateway (N-1): where traffic for a remote network's endpoints is sent. */
export interface NetworkGateway {
  readonly network: string;
  readonly address: string;
  readonly port: number;
  /** Cluster the gateway belongs to ('' when declared by address in MeshNetworks). */
  readonly cluster: string;
  /** Where it was declared, e.g. `MeshNetworks/mesh-networks` or `Service/istio-system/eastwest`. */
  readonly source: string;
}

/** Network declarations from MeshNetworks (gateways by address; endpoint ranges). */
export interface NetworkDeclarations {
  readonly gateways: readonly NetworkGateway[];
  /** `fromCidr` ranges: a pod without a network label in such a range is on that network. */
  readonly cidrs: readonly { readonly network: string; readonly cidr: string }[];
  /** `fromRegistry`: pods of that cluster id are on that network. */
  readonly registries: readonly { readonly network: string; readonly registry: string }[];
  /** `registryServiceName` gateways: resolved against Kubernetes Services by the registry. */
  readonly serviceGateways: readonly { readonly network: string; readonly serviceName: string; readonly port: number }[];
}

export function networkDeclarationsFrom(all: readonly MeshNetworks[]): NetworkDeclarations {
  const gateways: NetworkGateway[] = [];
  const cidrs: { network: string; cidr: string }[] = [];
  const registries: { network: string; registry: string }[] = [];
  const serviceGateways: { network: string; serviceName: string; port: number }[] = [];
  for (const mn of [...all].sort((a, b) => a.origin.order - b.origin.order)) {
    const networks = mn.spec.networks ?? {};
    for (const name of Object.keys(networks).sort()) {
      const n = networks[name];
      if (!n) continue;
      for (const e of n.endpoints ?? []) {
        if (typeof e.fromCidr === 'string') cidrs.push({ network: name, cidr: e.fromCidr });
        if (typeof e.fromRegistry === 'string') registries.push({ network: name, registry: e.fromRegistry });
      }
      for (const g of n.gateways ?? []) {
        if (typeof g.address === 'string' && g.address !== '') {
          gateways.push({ network: name, address: g.address, port: g.port, cluster: '', source: `MeshNetworks/${mn.metadata.name}` });
        } else if (typeof g.registryServiceName === 'string') {
          serviceGateways.push({ network: name, serviceName: g.registryServiceName, port: g.port });
        }
      }
    }
  }
  return { gateways, cidrs, registries, serviceGateways };
}

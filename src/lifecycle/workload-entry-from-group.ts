/**
 * Auto-registration content (Istio: pilot/pkg/autoregistration/controller.go
 * workloadEntryFromGroup): the WorkloadEntry a connecting proxy gets from its WorkloadGroup.
 * Pure; the caller supplies times and the proxy's facts.
 */
import type { StringMap, WorkloadEntry, WorkloadGroup } from '../model/config/types.js';

export const ANNOTATIONS = {
  group: 'istio.io/autoRegistrationGroup',
  controller: 'istio.io/workloadController',
  connectedAt: 'istio.io/connectedAt',
  disconnectedAt: 'istio.io/disconnectedAt',
  healthChecks: 'proxy.istio.io/health-checks-enabled',
} as const;

/** What the registration needs to know about a connecting proxy. */
export interface ConnectingProxy {
  readonly ip: string;
  readonly namespace: string;
  readonly group: string;
  readonly network: string;
  /** `node.locality` as region/zone/subzone, '' when absent. */
  readonly locality: string;
  /** Node metadata labels (ISTIO_METAJSON_LABELS / LABELS). */
  readonly labels: StringMap;
  /** The proxy has a readiness probe (its group has one): its entry is health checked. */
  readonly healthChecked: boolean;
}

const MAX_NAME = 253;

/** AR-2: `<group>-<ip with ':' as '-'>[-<network>]`, cut from the front to 253 characters. */
export function autoRegisteredName(group: string, ip: string, network: string): string {
  let name = `${group}-${ip.replaceAll(':', '-')}`;
  if (network !== '') name += `-${network}`;
  return name.length > MAX_NAME ? name.slice(name.length - MAX_NAME) : name;
}

/** AR-3: the entry for a proxy, before connect annotations (AR-6) are added. */
export function workloadEntryFromGroup(group: WorkloadGroup, proxy: ConnectingProxy, order: number): WorkloadEntry {
  const template = group.spec.template;
  const labels: Record<string, string> = { ...(template.labels ?? {}), ...(group.spec.metadata?.labels ?? {}), ...proxy.labels };
  delete labels['istio-locality'];
  const annotations: Record<string, string> = { [ANNOTATIONS.group]: group.metadata.name, ...(group.spec.metadata?.annotations ?? {}) };
  if (proxy.healthChecked) annotations[ANNOTATIONS.healthChecks] = 'true';
  const name = autoRegisteredName(group.metadata.name, proxy.ip, proxy.network);
  const network = proxy.network !== '' ? proxy.network : template.network;
  const locality = proxy.locality !== '' ? proxy.locality : template.locality;
  return {
    kind: 'WorkloadEntry',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name, namespace: group.metadata.namespace, labels, annotations },
    spec: {
      address: proxy.ip,
      labels,
      ...(template.ports ? { ports: template.ports } : {}),
      ...(network !== undefined && network !== '' ? { network } : {}),
      ...(locality !== undefined && locality !== '' ? { locality } : {}),
      ...(template.weight !== undefined ? { weight: template.weight } : {}),
      ...(template.serviceAccount !== undefined && template.serviceAccount !== '' ? { serviceAccount: template.serviceAccount } : {}),
    },
    origin: { file: `auto-registered by WorkloadGroup/${group.metadata.namespace}/${group.metadata.name}`, line: 1, column: 1, order },
  };
}

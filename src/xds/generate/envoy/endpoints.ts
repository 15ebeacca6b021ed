/**
 * ClusterLoadAssignments for Envoy (EDS, and the inline load assignment of DNS clusters): the
 * shared `loadAssignment` (EDS-5..EDS-10) with every endpoint and group (`proxyless: false`).
 */
import type { ClusterLoadAssignment } from '../../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { LocalityGroup } from '../../../registry/view/locality-groups.js';
import { loadAssignment } from '../common.js';

export function envoyLoadAssignment(name: string, groups: readonly LocalityGroup[], clusterId: string): ClusterLoadAssignment {
  return loadAssignment(name, groups, { proxyless: false, clusterId });
}

import type { DescMessage, MessageShape } from '@bufbuild/protobuf';

/**
 * One descriptor per xDS resource type URL (STYLE: "one descriptor per type URL", as grpc-js-xds's
 * `XdsResourceType`). Everything the cache and the protocol need to know about a type lives here, so
 * neither of them switches on type URLs.
 */
export interface XdsResourceType<Desc extends DescMessage = DescMessage> {
  /** `type.googleapis.com/<full message name>`; equal to the `type_url` of every packed resource. */
  readonly typeUrl: string;
  /** Short name for logs, events and status tables: LDS, RDS, CDS, EDS, SDS. */
  readonly shortName: string;
  /** The generated message schema (protobuf-es). */
  readonly schema: Desc;
  /**
   * State-of-the-world "full state" rule: every SotW response of this type carries every resource the
   * client subscribes to, and a resource left out is deleted by the client. True for Listener and
   * Cluster. https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#grouping-resources-into-responses
   */
  readonly fullState: boolean;
  /**
   * A first request with no resource names means "*" (legacy wildcard) for this type; true for
   * Listener and Cluster. An explicit "*" is accepted for every type.
   * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#how-the-client-specifies-what-resources-to-return
   */
  readonly legacyWildcard: boolean;
  /**
   * Push order across types when several change at once, lowest first, for make-before-break:
   * CDS, EDS, LDS, RDS, then the rest.
   * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#eventual-consistency-considerations
   */
  readonly pushOrder: number;
  /** The resource name used in subscriptions (Listener.name, ClusterLoadAssignment.cluster_name, ...). */
  nameOf(message: MessageShape<Desc>): string;
}

/** Builds a descriptor; `typeUrl` is derived from the schema so the two can never disagree. */
export function defineResourceType<Desc extends DescMessage>(
  spec: Omit<XdsResourceType<Desc>, 'typeUrl'>,
): XdsResourceType<Desc> {
  return Object.freeze({ ...spec, typeUrl: typeUrlOf(spec.schema) });
}

export function typeUrlOf(schema: DescMessage): string {
  return `type.googleapis.com/${schema.typeName}`;
}

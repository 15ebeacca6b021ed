/**
 * The grpc probe method (H-2): the standard `grpc.health.v1.Health/Check` RPC, healthy iff the
 * answer is SERVING. The two messages are tiny, so they are encoded by hand with protobuf-es's
 * wire helpers instead of loading a .proto:
 *   message HealthCheckRequest  { string service = 1; }
 *   message HealthCheckResponse { ServingStatus status = 1; }  // UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3
 * The definition below serves both the probe (client) and test servers.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { Client, credentials, status as grpcStatus, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import type { ProbeResult } from './probe.js';

export interface HealthCheckRequest {
  readonly service: string;
}
export interface HealthCheckResponse {
  readonly status: number;
}

export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;
export const SERVING = 1;

export function encodeHealthCheckRequest(m: HealthCheckRequest): Buffer {
  const w = new BinaryWriter();
  if (m.service !== '') w.tag(1, WireType.LengthDelimited).string(m.service);
  return Buffer.from(w.finish());
}

export function decodeHealthCheckRequest(b: Uint8Array): HealthCheckRequest {
  const r = new BinaryReader(b);
  let service = '';
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) service = r.string();
    else r.skip(wire, field);
  }
  return { service };
}

export function encodeHealthCheckResponse(m: HealthCheckResponse): Buffer {
  const w = new BinaryWriter();
  if (m.status !== 0) w.tag(1, WireType.Varint).int32(m.status);
  return Buffer.from(w.finish());
}

export function decodeHealthCheckResponse(b: Uint8Array): HealthCheckResponse {
  const r = new BinaryReader(b);
  let status = 0;
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.Varint) status = r.int32();
    else r.skip(wire, field);
  }
  return { status };
}

export const healthCheckMethod: MethodDefinition<HealthCheckRequest, HealthCheckResponse> = {
  path: '/grpc.health.v1.Health/Check',
  requestStream: false,
  responseStream: false,
  requestSerialize: encodeHealthCheckRequest,
  requestDeserialize: decodeHealthCheckRequest,
  responseSerialize: encodeHealthCheckResponse,
  responseDeserialize: decodeHealthCheckResponse,
  originalName: 'check',
};

/** One Health/Check call with a deadline; the channel is closed afterwards. */
export function grpcHealthCheck(host: string, port: number, service: string, timeoutMs: number): Promise<ProbeResult> {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const client = new Client(target, credentials.createInsecure());
  return new Promise<ProbeResult>((resolve) => {
    client.makeUnaryRequest(
      healthCheckMethod.path,
      healthCheckMethod.requestSerialize,
      healthCheckMethod.responseDeserialize,
      { service },
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, res?: HealthCheckResponse) => {
        client.close();
        if (err) {
          const what = err.code === grpcStatus.DEADLINE_EXCEEDED ? `timed out after ${timeoutMs / 1000}s` : `failed: ${err.details || err.message}`;
          resolve({ healthy: false, message: `gRPC health check to ${target} ${what}` });
          return;
        }
        const status = res?.status ?? 0;
        if (status === SERVING) resolve({ healthy: true, message: '' });
        else resolve({ healthy: false, message: `gRPC health check to ${target}: service status ${SERVING_STATUS[status] ?? String(status)}` });
      },
    );
  });
}

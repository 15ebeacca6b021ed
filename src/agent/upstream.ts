/**
 * The agent's channel to the control plane (issue 7, docs/security.md): TLS to the secure xDS port,
 * verifying the server against the mesh root written by `workload entry configure`
 * (`DIR/root-cert.pem`) under the control plane's stable server name; mutual TLS once the agent
 * holds a workload certificate (`DIR/certs/cert-chain.pem`, `key.pem`). Without `root-cert.pem`
 * (a bootstrap folder from before the secure port) the channel is plaintext.
 *
 * Read from the files on every call, so whoever asks after a rotation gets the new certificate:
 * open channels (and their streams) keep the credentials they were made with; new channels use the
 * new ones. Other agent code (e.g. a local xDS proxy forwarding apps' streams upstream) uses
 * `controlPlaneChannel` to open its own channels to the control plane the same way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials as grpcCredentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { CONTROL_PLANE_SERVER_NAME } from '../security/server-certificate.js';
import { readSettings } from './bootstrap.js';
import { firstControlPlane } from './control-plane-targets.js';
import { CERT_DIR, CERT_FILES } from './certificates.js';

/** The mesh root in the bootstrap folder (`workload entry configure` writes it). */
export const ROOT_CERT_FILE = 'root-cert.pem';

export { CONTROL_PLANE_SERVER_NAME };

export interface UpstreamChannel {
  /** `host:port` of the control plane (the address in use of meshbridge-agent.json's `controlPlane`). */
  readonly address: string;
  readonly credentials: ChannelCredentials;
  /** Channel options (the TLS server name to verify). */
  readonly options: ChannelOptions;
  /** 'plaintext' (no root-cert.pem), 'tls' (server verified) or 'mtls' (and a client certificate). */
  readonly security: 'plaintext' | 'tls' | 'mtls';
}

/**
 * Credentials for a new channel to the control plane from the bootstrap folder `bootstrapDir`;
 * `address` defaults to the first address of its meshbridge-agent.json `controlPlane`. Throws when a file exists but
 * cannot be read (a half-written certificate is never used: the agent replaces files atomically).
 */
export function controlPlaneChannel(bootstrapDir: string, address?: string): UpstreamChannel {
  const target = address ?? firstControlPlane(readSettings(bootstrapDir).controlPlane);
  const rootFile = join(bootstrapDir, ROOT_CERT_FILE);
  if (!existsSync(rootFile)) return { address: target, credentials: grpcCredentials.createInsecure(), options: {}, security: 'plaintext' };
  const root = readFileSync(rootFile);
  const certFile = join(bootstrapDir, CERT_DIR, CERT_FILES.chain);
  const keyFile = join(bootstrapDir, CERT_DIR, CERT_FILES.key);
  const mutual = existsSync(certFile) && existsSync(keyFile);
  const options: ChannelOptions = { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME, 'grpc.default_authority': CONTROL_PLANE_SERVER_NAME };
  if (!mutual) return { address: target, credentials: grpcCredentials.createSsl(root), options, security: 'tls' };
  return { address: target, credentials: grpcCredentials.createSsl(root, readFileSync(keyFile), readFileSync(certFile)), options, security: 'mtls' };
}

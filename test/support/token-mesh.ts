/**
 * Issue 11 tests: a real control plane (the `ControlPlane` object with its real gRPC ports: the
 * plaintext and the secure xDS port) and the three calls a registration token is used for —
 * `CreateCertificate`, `RenewToken` and an agent's registration stream — made by a real gRPC
 * client with a chosen credential (a bearer token, a client certificate, both or none).
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { webcrypto } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Client, credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { ControlPlane } from '../../src/app/control-plane.js';
import type { ServeSettings } from '../../src/app/serve-settings.js';
import { renewTokenMethod, type RenewTokenResponse } from '../../src/agent/token-renewal.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { signToken, type TokenClaims } from '../../src/security/registration-token.js';
import { certificateServiceDefinition, type CertificateRequest } from '../../src/security/cert-service.js';
import { CONTROL_PLANE_SERVER_NAME } from '../../src/security/server-certificate.js';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { AGENT_HELLO_TYPE_URL, HEALTH_INFORMATION_TYPE_URL } from '../../src/xds/server/ads-stream.js';
import { loadOrCreateSigningKey } from '../../src/sources/file/state-dir.js';
import { RawAdsStream } from '../xds/fixtures/ads-client.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A key and a CSR for it (default ECDSA P-256); `algorithm` picks another key (RSA, other curves). */
export async function keyAndCsr(algorithm: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams = EC_P256): Promise<{ keyPem: string; csrPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']));
  const signingAlgorithm = algorithm.name === 'ECDSA' ? { ...algorithm, hash: 'SHA-256' } : algorithm;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm });
  return { keyPem: x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}

/** How a call authenticates. */
export interface Credential {
  /** The `authorization` metadata value, e.g. `Bearer <token>`. */
  readonly authorization?: string;
  /** A client certificate (mutual TLS on the secure port). */
  readonly certificate?: { readonly chain: string; readonly keyPem: string };
  /** Call the plaintext port instead of the secure one. */
  readonly plaintext?: boolean;
}

export const bearer = (token: string): Credential => ({ authorization: `Bearer ${token}` });

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: number; readonly details: string };

export interface RegistrationOptions {
  readonly namespace: string;
  readonly group: string;
  readonly ip: string;
}

export class TokenMesh {
  private constructor(
    readonly cp: ControlPlane,
    readonly xds: string,
    readonly xdsTls: string,
    private readonly cleanup: () => void,
    /** The registration-token key (file store: from the state directory; etcd: given). */
    readonly key: Buffer,
    /** The config folder (file store). */
    readonly dir: string | undefined,
  ) {}

  /** A control plane on a file store holding `yaml` (mesh.yaml). */
  static async onFiles(yaml: string, o: Partial<ServeSettings> = {}): Promise<TokenMesh> {
    const dir = mkdtempSync(join(tmpdir(), 'mb-tokens-'));
    writeFileSync(join(dir, 'mesh.yaml'), yaml);
    const stateDir = `${dir}.state`;
    const cp = new ControlPlane({ configPaths: [dir], stateDir, xdsAddress: '127.0.0.1:0', secureXdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, debounceMs: 5, watchDebounceMs: 20, ...o });
    const listening = await cp.start();
    const cleanup = (): void => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
    };
    return new TokenMesh(cp, listening.xds, listening.xdsTls ?? '', cleanup, loadOrCreateSigningKey(stateDir), dir);
  }

  /** A replica on a shared store (etcd); `key` is the store's signing key. */
  static async onStore(store: string, instance: string, key: Buffer, o: Partial<ServeSettings> = {}): Promise<TokenMesh> {
    const cp = new ControlPlane({ store, instance, xdsAddress: '127.0.0.1:0', secureXdsAddress: '127.0.0.1:0', httpAddress: '127.0.0.1:0', logger: silentLogger, debounceMs: 5, watchDebounceMs: 20, ...o });
    const listening = await cp.start();
    return new TokenMesh(cp, listening.xds, listening.xdsTls ?? '', () => undefined, key, undefined);
  }

  async stop(): Promise<void> {
    await this.cp.stop();
    this.cleanup();
  }

  /** Replaces the file store's configuration and waits until `ready` holds in the registry. */
  async rewrite(yaml: string, ready: () => boolean): Promise<void> {
    writeFileSync(join(this.dir ?? '.', 'mesh.yaml'), yaml);
    await until(ready, 5000, 'the control plane read the changed configuration');
  }

  /** A token signed with this control plane's key; times in seconds (default: issued now, 10 minutes). */
  sign(claims: Pick<TokenClaims, 'namespace' | 'group' | 'serviceAccount'> & Partial<TokenClaims>): string {
    const now = Math.floor(Date.now() / 1000);
    return signToken({ issuedAt: now, expiresAt: now + 600, ...claims }, this.key);
  }

  private channel(c: Credential): { address: string; credentials: ChannelCredentials; options: Record<string, string> } {
    if (c.plaintext === true) return { address: this.xds, credentials: credentials.createInsecure(), options: {} };
    const root = Buffer.from(this.cp.certificateAuthority().rootPem);
    const creds = c.certificate ? credentials.createSsl(root, Buffer.from(c.certificate.keyPem), Buffer.from(c.certificate.chain)) : credentials.createSsl(root);
    return { address: this.xdsTls, credentials: creds, options: { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME, 'grpc.default_authority': CONTROL_PLANE_SERVER_NAME } };
  }

  private unary<Req, Res>(c: Credential, path: string, serialize: (r: Req) => Buffer, deserialize: (b: Buffer) => Res, request: Req): Promise<Outcome<Res>> {
    const ch = this.channel(c);
    const client = new Client(ch.address, ch.credentials, ch.options);
    const md = new Metadata();
    if (c.authorization !== undefined) md.set('authorization', c.authorization);
    return new Promise((resolve) => {
      client.makeUnaryRequest(path, serialize, deserialize, request, md, { deadline: Date.now() + 15_000 }, (error: ServiceError | null, value?: Res) => {
        client.close();
        resolve(error ? { ok: false, code: error.code, details: error.details } : { ok: true, value: value as Res });
      });
    });
  }

  /** `CreateCertificate` for a fresh key (or `csr`); the value is the chain and the key. */
  async createCertificate(c: Credential, csr?: { keyPem: string; csrPem: string }): Promise<Outcome<{ chain: string; keyPem: string }>> {
    const k = csr ?? (await keyAndCsr());
    const method = certificateServiceDefinition['CreateCertificate'];
    if (method === undefined) throw new Error('no CreateCertificate method');
    const r = await this.unary(c, method.path, method.requestSerialize as (r: CertificateRequest) => Buffer, method.responseDeserialize as (b: Buffer) => string[], { csr: k.csrPem, validityDuration: 3600 });
    return r.ok ? { ok: true, value: { chain: r.value.slice(0, -1).join(''), keyPem: k.keyPem } } : r;
  }

  /** `RenewToken` of `token` with credential `c`. */
  renew(token: string, c: Credential): Promise<Outcome<RenewTokenResponse>> {
    return this.unary(c, renewTokenMethod.path, renewTokenMethod.requestSerialize, renewTokenMethod.responseDeserialize, { token });
  }

  /**
   * An agent's registration stream (node metadata as `meshbridge agent` sends) with credential `c`;
   * resolves with the refusal, or with the open stream once the workload is registered.
   */
  async register(c: Credential, r: RegistrationOptions): Promise<Outcome<RawAdsStream<DiscoveryRequest, DiscoveryResponse>>> {
    const ch = this.channel(c);
    const stream = new RawAdsStream<DiscoveryRequest, DiscoveryResponse>(ch.address, adsServiceDefinition.StreamAggregatedResources, 60_000, c.authorization !== undefined ? { authorization: c.authorization } : {}, ch);
    stream.send(agentRequest(r, AGENT_HELLO_TYPE_URL));
    const name = `WorkloadEntry/${r.namespace}/${r.group}-${r.ip}`;
    const registered = until(() => this.cp.registry.inputs.WorkloadEntry.get(name) !== undefined, 10_000, `${name} registered`).then(() => 'registered' as const);
    const outcome = await Promise.race([registered, stream.ended]);
    if (outcome === 'registered') return { ok: true, value: stream };
    stream.close();
    return { ok: false, code: outcome?.code ?? 0, details: outcome?.details ?? 'the stream ended without a status' };
  }
}

/** An agent's request (agent-protocol.md §3): `type` AgentHello to register, HealthInformation to report. */
export function agentRequest(r: RegistrationOptions, typeUrl: string = HEALTH_INFORMATION_TYPE_URL, error?: string): DiscoveryRequest {
  return create(DiscoveryRequestSchema, {
    node: {
      id: `sidecar~${r.ip}~${r.group}-${r.ip}.${r.namespace}~${r.namespace}.svc.cluster.local`,
      metadata: { AUTO_REGISTER_GROUP: r.group, NAMESPACE: r.namespace, MESHBRIDGE_AGENT: 'true', HEALTH_CHECKS: 'true', INSTANCE_IPS: r.ip },
    },
    typeUrl,
    ...(error !== undefined ? { errorDetail: { code: 13, message: error } } : {}),
  });
}

export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(10);
  }
}

/** A refusal's code and message, for assertions. */
export function refusal(o: Outcome<unknown>): { code: number; details: string } | 'accepted' {
  return o.ok ? 'accepted' : { code: o.code, details: o.details };
}

/**
 * The agent's SDS server (agent-protocol.md §12), as Istio's pilot-agent serves a local Envoy:
 * `envoy.service.secret.v3.SecretDiscoveryService` (StreamSecrets, state of the world; DeltaSecrets,
 * incremental) on a unix socket or a loopback port, with two secrets, Istio's names:
 * - `default`: `tls_certificate { certificate_chain, private_key }` (inline bytes: the workload
 *   certificate with its intermediates, and its key);
 * - `ROOTCA`: `validation_context { trusted_ca }` (the mesh root).
 * Every certificate rotation (`update`) pushes a new version to every subscriber. Protocol semantics
 * (subscriptions, versions, nonces, ACK/NACK) are the control plane's own (`src/xds/protocol`,
 * AdsStream) over a cache with one view for every client: nothing is decoded here.
 */
import { create } from '@bufbuild/protobuf';
import { chmodSync, existsSync, lstatSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { PRIVATE_DIR, PRIVATE_FILE } from '../lib/fs/modes.js';
import { Server, ServerCredentials, status as grpcStatus, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { SecretSchema, type Secret } from '../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { ResourceCache } from '../xds/cache/resource-cache.js';
import { DEFAULT_MAX_RESPONSE_BYTES, nonceCounter } from '../xds/protocol/common.js';
import { DeltaSession } from '../xds/protocol/delta.js';
import { SotwSession } from '../xds/protocol/sotw.js';
import { adsServiceDefinition } from '../xds/server/ads-service.js';
import { AdsStream, duplexStreamPort, type AdsStreamOptions, type RequestView } from '../xds/server/ads-stream.js';
import type { AdsProtocol, XdsEvent } from '../xds/server/events.js';
import { SECRET } from '../xds/types/resource-types.js';
import type { IssuedCertificate } from './certificates.js';
import { ListenError, loopbackAddressProblem } from './xds-proxy.js';
import { shutdownGracefully } from '../lib/grpc/shutdown.js';
import { errorMessage } from '../lib/errors.js';

/** A fresh 0700 folder beside `socketPath` to bind in (lib/fs/modes.ts: the umask does not decide). */
function privateStaging(socketPath: string): { readonly dir: string; readonly socket: string } {
  const dir = mkdtempSync(join(dirname(socketPath), '.sds-'));
  chmodSync(dir, PRIVATE_DIR);
  return { dir, socket: join(dir, 's') };
}

export const SDS_SERVICE_NAME = 'envoy.service.secret.v3.SecretDiscoveryService';
/** Istio's secret names. */
export const WORKLOAD_SECRET = 'default';
export const ROOT_SECRET = 'ROOTCA';
export const SDS_SOCKET_FILE = 'sds.sock';
const VIEW = 'sds';

/** The SDS service: the ADS messages and codecs under SDS's method paths. */
export const sdsServiceDefinition: ServiceDefinition = {
  StreamSecrets: { ...adsServiceDefinition.StreamAggregatedResources, path: `/${SDS_SERVICE_NAME}/StreamSecrets`, originalName: 'streamSecrets' },
  DeltaSecrets: { ...adsServiceDefinition.DeltaAggregatedResources, path: `/${SDS_SERVICE_NAME}/DeltaSecrets`, originalName: 'deltaSecrets' },
};

/**
 * `--sds-address` as a gRPC bind target: an absolute path or `unix:PATH` is a unix socket, else a
 * loopback `HOST:PORT`. Throws an Error naming what is wrong.
 */
export function sdsBindTarget(address: string): { readonly target: string; readonly socketPath?: string } {
  const path = address.startsWith('unix:') ? address.slice('unix:'.length) : isAbsolute(address) ? address : undefined;
  if (path !== undefined) {
    if (!isAbsolute(path)) throw new Error(`the SDS socket path must be absolute, not ${JSON.stringify(path)}`);
    return { target: `unix:${path}`, socketPath: path };
  }
  const problem = loopbackAddressProblem(address);
  if (problem !== undefined) throw new Error(`the SDS address must be a unix socket path or a loopback HOST:PORT; ${address} ${problem}`);
  return { target: address };
}

/** The two secrets of one certificate. */
export function secretsOf(cert: IssuedCertificate): { workload: Secret; root: Secret } {
  const bytes = (s: string) => ({ specifier: { case: 'inlineBytes' as const, value: new TextEncoder().encode(s) } });
  const leafAndIntermediates = cert.certChain.length > 1 ? cert.certChain.slice(0, -1) : cert.certChain;
  const root = cert.certChain.at(-1) ?? '';
  return {
    workload: create(SecretSchema, {
      name: WORKLOAD_SECRET,
      type: { case: 'tlsCertificate', value: { certificateChain: bytes(leafAndIntermediates.map((p) => `${p.trim()}\n`).join('')), privateKey: bytes(cert.keyPem) } },
    }),
    root: create(SecretSchema, { name: ROOT_SECRET, type: { case: 'validationContext', value: { trustedCa: bytes(`${root.trim()}\n`) } } }),
  };
}

export interface SdsServerOptions {
  /** One line per notable event (NACKs), without newline. */
  readonly log?: (line: string) => void;
}

export class SdsServer {
  readonly #o: SdsServerOptions;
  readonly #cache = new ResourceCache();
  readonly #streams = new Set<() => void>();
  #server: Server | undefined;
  #socketPath: string | undefined;
  #version = 0;
  #rootPem = '';
  #rootVersion = '';
  #nextStream = 0;

  constructor(options: SdsServerOptions = {}) {
    this.#o = options;
  }

  /** Publishes a (new) workload certificate: subscribers get `default`, and `ROOTCA` when it changed. */
  update(cert: IssuedCertificate): void {
    const { workload, root } = secretsOf(cert);
    const version = String(++this.#version);
    const rootPem = cert.certChain.at(-1) ?? '';
    if (rootPem !== this.#rootPem) {
      this.#rootPem = rootPem;
      this.#rootVersion = version;
    }
    this.#cache.setResources(VIEW, SECRET, new Map([
      [WORKLOAD_SECRET, { version, message: workload }],
      [ROOT_SECRET, { version: this.#rootVersion, message: root }],
    ]));
  }

  /**
   * Binds (see `sdsBindTarget`); a stale unix socket file is replaced. Returns the bound target.
   * A unix socket is mode 0600 from the moment it appears at its path, whatever the umask (it hands
   * out the workload's private key): it is bound in a fresh 0700 folder beside its path, set to 0600
   * there, then renamed into place.
   */
  async start(address: string): Promise<string> {
    if (this.#server !== undefined) throw new Error('SDS server already started');
    const { target: finalTarget, socketPath } = sdsBindTarget(address);
    const staging = socketPath !== undefined ? privateStaging(socketPath) : undefined;
    const target = staging !== undefined ? `unix:${staging.socket}` : finalTarget;
    if (socketPath !== undefined && existsSync(socketPath)) {
      if (!lstatSync(socketPath).isSocket()) throw new ListenError(`cannot listen on ${socketPath} for SDS: a file that is not a socket is there`);
      rmSync(socketPath);
    }
    const server = new Server();
    server.addService(sdsServiceDefinition, {
      StreamSecrets: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) =>
        this.#serve(call, 'sotw', new SotwSession(this.#sessionOptions()), (r) => ({ names: r.resourceNames, unsubscribed: [], versionInfo: r.versionInfo })),
      DeltaSecrets: (call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) =>
        this.#serve(call, 'delta', new DeltaSession(this.#sessionOptions()), (r) => ({ names: r.resourceNamesSubscribe, unsubscribed: r.resourceNamesUnsubscribe, versionInfo: '' })),
    });
    let port: number;
    try {
      port = await new Promise<number>((resolve, reject) => server.bindAsync(target, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
      if (staging !== undefined && socketPath !== undefined) {
        chmodSync(staging.socket, PRIVATE_FILE);
        renameSync(staging.socket, socketPath);
      }
    } catch (e) {
      server.forceShutdown();
      throw new ListenError(`cannot listen on ${address} for SDS: ${errorMessage(e)}`);
    } finally {
      if (staging !== undefined) rmSync(staging.dir, { recursive: true, force: true });
    }
    if (socketPath === undefined) this.#o.log?.(`warning: SDS on ${address} (TCP) is open to every local user; prefer a unix socket (mode 0600)`);
    this.#server = server;
    this.#socketPath = socketPath;
    return socketPath !== undefined ? finalTarget : `${finalTarget.slice(0, finalTarget.lastIndexOf(':'))}:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    for (const end of [...this.#streams]) end();
    await shutdownGracefully(server);
    if (this.#socketPath !== undefined) rmSync(this.#socketPath, { force: true });
  }

  #sessionOptions(): { maxResponseBytes: number; mintNonce: () => string } {
    return { maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES, mintNonce: nonceCounter(`sds-${++this.#nextStream}-`) };
  }

  #serve<Req extends RequestView, Res>(
    call: ServerDuplexStream<Req, Res>,
    protocol: AdsProtocol,
    session: ConstructorParameters<typeof AdsStream<Req, Res>>[1],
    describe: AdsStreamOptions<Req>['describe'],
  ): void {
    const port = duplexStreamPort<Res>(call);
    const stream = new AdsStream<Req, Res>(
      {
        streamId: `sds-${this.#nextStream}`,
        protocol,
        source: this.#cache,
        viewOf: () => VIEW,
        resourceTypeOf: (url) => (url === SECRET.typeUrl ? SECRET : undefined),
        emit: (e) => this.#event(e),
        describe,
      },
      session,
      port,
    );
    const stopOne = (): void => {
      finish('server stopping');
      port.end(grpcStatus.UNAVAILABLE, 'SDS server stopping');
    };
    const finish = (reason: string): void => {
      stream.close(reason);
      this.#streams.delete(stopOne);
    };
    this.#streams.add(stopOne);
    call.on('data', (req: Req) => stream.onRequest(req));
    call.on('end', () => {
      finish('client closed the stream');
      port.end(grpcStatus.OK, 'OK');
    });
    call.on('cancelled', () => finish('cancelled'));
    call.on('error', () => finish('stream error'));
    call.on('close', () => finish('closed'));
  }

  #event(e: XdsEvent): void {
    if (e.event === 'nack') this.#o.log?.(`SDS: ${e.proxyId} rejected secrets version ${e.version}: ${e.error.message}`);
  }
}

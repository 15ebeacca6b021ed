/**
 * The agent's inbound mTLS proxy (agent-protocol.md §11), for VM apps that are plain gRPC/TCP
 * servers: what Envoy's inbound listener does for a sidecar. It listens on `<VM IP>:PORT` and
 * forwards each accepted connection to `<VM IP>:APP_PORT`, deciding per connection from its first
 * byte: a TLS ClientHello (0x16) is terminated with the workload certificate (re-read from
 * `DIR/certs` when the files change, so rotation applies to the next connection), requiring a client
 * certificate that chains to the mesh root; anything else is plaintext.
 *
 * What is accepted is the port's policy (inbound-modes.ts, from the control plane's inbound
 * Listener): its mTLS mode (Istio PeerAuthentication: STRICT = mTLS only, DISABLE = plaintext only,
 * PERMISSIVE = both; proxyless gRPC servers cannot do PERMISSIVE on one port, gRPC A36, hence this
 * proxy), then its RBAC (AuthorizationPolicy), evaluated per connection by rbac-evaluator.ts with
 * the peer's principal, addresses and port: plaintext connections when they arrive, mTLS ones after
 * the handshake, before a byte reaches the app. A port without a policy (before the control plane
 * first answers, or when its Listener does not exist) uses the fallback, which by default refuses
 * every connection (fail closed; `agent --inbound-default` may name a mode instead). A new policy
 * also ends the open connections it refuses.
 *
 * A TLS connection is handed to a TLS server on a loopback port of its own (first byte included),
 * not wrapped in place: Node cannot put TLS on a socket whose first bytes were already read except
 * through a JavaScript stream, and that path crashes the process on some handshake failures
 * (Node 20: a RangeError from its errno mapping for a client certificate of another root). The
 * terminator pairs each of its connections with the accepted one by the hand-off connection's
 * local port, so RBAC sees the real peer address; a connection to it that the proxy did not make
 * is closed after the handshake, before anything reaches the app.
 */
import { readFileSync, statSync } from 'node:fs';
import { connect, createServer, Socket, type AddressInfo, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer, type PeerCertificate, type SecureContextOptions, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { RBAC } from '../gen/envoy/config/rbac/v3/rbac_pb.js';
import { CERT_DIR, CERT_FILES } from './certificates.js';
import { authorizeConnection, type ConnectionAttributes } from './rbac-evaluator.js';
import { ListenError } from './xds-proxy.js';
import { errorMessage } from '../lib/errors.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
export const MTLS_MODES: readonly MtlsMode[] = ['STRICT', 'PERMISSIVE', 'DISABLE'];

/** What a port accepts: its mTLS mode, then the RBAC of mTLS and of plaintext connections (filters in order). */
export interface InboundPolicy {
  readonly mode: MtlsMode;
  readonly rbac: { readonly tls: readonly RBAC[]; readonly plaintext: readonly RBAC[] };
}

/** A policy of `mode` without RBAC. */
export function modeOnly(mode: MtlsMode): InboundPolicy {
  return { mode, rbac: { tls: [], plaintext: [] } };
}

/** `--inbound-default`: what a port without a policy from the control plane does. */
export type InboundDefault = 'refuse' | MtlsMode;
export const INBOUND_DEFAULTS: readonly InboundDefault[] = ['refuse', ...MTLS_MODES];

/** Parses `--inbound-default` (case-insensitive); throws an Error naming the accepted values. */
export function parseInboundDefault(value: string): InboundDefault {
  const found = INBOUND_DEFAULTS.find((d) => d.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new Error(`--inbound-default must be one of ${INBOUND_DEFAULTS.join(', ')}, not ${JSON.stringify(value)}`);
  return found;
}

/** The fallback policy of an `--inbound-default` (undefined: refuse every connection). */
export function fallbackPolicy(d: InboundDefault): InboundPolicy | undefined {
  return d === 'refuse' ? undefined : modeOnly(d);
}

export type ConnectionKind = 'tls' | 'plaintext';

/**
 * Whether `policy` admits a connection of `kind`; `attributes` once they are known (RBAC is
 * evaluated only then). Pure. Undefined policy: refused (the port has none and no fallback).
 */
export function admitConnection(policy: InboundPolicy | undefined, kind: ConnectionKind, attributes?: ConnectionAttributes): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  if (policy === undefined) return { ok: false, reason: 'no inbound policy from the control plane (inbound default: refuse)' };
  if (kind === 'plaintext' && policy.mode === 'STRICT') return { ok: false, reason: 'mode STRICT' };
  if (kind === 'tls' && policy.mode === 'DISABLE') return { ok: false, reason: 'mode DISABLE' };
  if (attributes === undefined) return { ok: true };
  const decision = authorizeConnection(policy.rbac[kind], attributes);
  return decision.allowed ? { ok: true } : { ok: false, reason: `RBAC: ${decision.reason}` };
}

/**
 * Envoy's authenticated principal of a verified peer certificate: its first URI SAN, else its first
 * DNS SAN, else its subject (`K=v,...`).
 */
export function peerPrincipal(cert: PeerCertificate): string {
  const names = (cert.subjectaltname ?? '').split(', ').map((n) => {
    const i = n.indexOf(':');
    const value = n.slice(i + 1);
    return { type: n.slice(0, i), value: value.startsWith('"') ? unquote(value) : value };
  });
  const san = names.find((n) => n.type === 'URI') ?? names.find((n) => n.type === 'DNS');
  if (san !== undefined) return san.value;
  return Object.entries(cert.subject ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`).join(',');
}

function unquote(value: string): string {
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'string' ? parsed : value;
  } catch {
    return value;
  }
}

/** Whether a peer principal is a SPIFFE id (for logs). */
function describePeer(principal: string): string {
  return principal.startsWith('spiffe://') ? principal : `${principal || '(empty)'} (no SPIFFE id)`;
}

/** `--inbound PORT:APP_PORT`. */
export interface InboundPort {
  readonly port: number;
  readonly appPort: number;
}

/** Parses `PORT:APP_PORT` (both 1..65535); throws an Error naming what is wrong. */
export function parseInboundSpec(spec: string): InboundPort {
  const m = /^([0-9]{1,5}):([0-9]{1,5})$/.exec(spec);
  const port = Number(m?.[1]);
  const appPort = Number(m?.[2]);
  if (!m || port < 1 || port > 65535 || appPort < 1 || appPort > 65535) throw new Error(`--inbound must be PORT:APP_PORT with ports 1-65535, not ${JSON.stringify(spec)}`);
  return { port, appPort };
}

/** The certificate files of `DIR/certs`, re-read when one of them changes. */
export class CertificateFiles {
  readonly #dir: string;
  #stamp = '';
  #current: SecureContextOptions | undefined;

  constructor(bootstrapDir: string) {
    this.#dir = join(bootstrapDir, CERT_DIR);
  }

  /** The TLS options of the current files; `changed` when they differ from the last call's. Undefined: no certificate yet. */
  read(): { readonly options: SecureContextOptions; readonly changed: boolean } | undefined {
    const files = [CERT_FILES.chain, CERT_FILES.key, CERT_FILES.root].map((f) => join(this.#dir, f));
    let stamp: string;
    try {
      stamp = files.map((f) => {
        const s = statSync(f);
        return `${s.ino}:${s.mtimeMs}:${s.size}`;
      }).join('|');
    } catch {
      return this.#current ? { options: this.#current, changed: false } : undefined;
    }
    if (stamp === this.#stamp && this.#current) return { options: this.#current, changed: false };
    try {
      const [cert, key, ca] = files.map((f) => readFileSync(f, 'utf8'));
      this.#current = { cert: cert ?? '', key: key ?? '', ca: ca ?? '' };
      this.#stamp = stamp;
      return { options: this.#current, changed: true };
    } catch {
      return this.#current ? { options: this.#current, changed: false } : undefined;
    }
  }
}

export interface InboundProxyOptions {
  /** The address to listen on (the VM IP). */
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly appHost: string;
  readonly appPort: number;
  readonly certificates: CertificateFiles;
  /** The policy to start with (tests); default none, so `fallback` applies. */
  readonly mode?: MtlsMode;
  /** What a port without a policy does: undefined (the default) refuses every connection. */
  readonly fallback?: InboundPolicy;
  /** Notable events (mode changes, refused connections with their reasons), one line each. */
  readonly log?: (line: string) => void;
  /** Per connection detail (peer identities). */
  readonly debug?: (line: string) => void;
}

const TLS_HANDSHAKE = 0x16;
/** Where the TLS terminator listens (never a routable address). */
const TERMINATOR_HOST = '127.0.0.1';

/** An accepted client connection: what it carries and, once known, what RBAC sees of it. */
interface Accepted {
  readonly kind: ConnectionKind;
  attributes?: ConnectionAttributes;
}

export class InboundProxy {
  readonly #o: InboundProxyOptions;
  readonly #sockets = new Set<Socket>();
  /** Accepted client connections, so a new policy can end those it no longer allows. */
  readonly #accepted = new Map<Socket, Accepted>();
  /** The accepted TLS connection behind each hand-off connection to the terminator, by the hand-off's local port. */
  readonly #handedOff = new Map<number, Socket>();
  /** From the control plane; undefined: none yet (or its Listener does not exist), so the fallback applies. */
  #policy: InboundPolicy | undefined;
  #server: NetServer | undefined;
  #tls: TlsServer | undefined;
  #tlsPort = 0;
  #port = 0;

  constructor(options: InboundProxyOptions) {
    this.#o = options;
    this.#policy = options.mode !== undefined ? modeOnly(options.mode) : undefined;
  }

  /** The policy in force: the control plane's, else the fallback; undefined: every connection is refused. */
  get policy(): InboundPolicy | undefined {
    return this.#policy ?? this.#o.fallback;
  }

  /** The mode in force; 'REFUSE' when the port has no policy and no fallback. */
  get mode(): MtlsMode | 'REFUSE' {
    return this.policy?.mode ?? 'REFUSE';
  }

  /** `setPolicy` with a mode and no RBAC. */
  setMode(mode: MtlsMode): void {
    this.setPolicy(modeOnly(mode));
  }

  /**
   * Applies to connections accepted from now on, and ends the open ones the new policy refuses
   * (by mode, and by RBAC for those already authorized), as Envoy drains the filter chains a
   * listener update removes: a policy takes effect for every caller, not only for new ones.
   * Undefined: the port has no policy any more (the fallback applies).
   */
  setPolicy(policy: InboundPolicy | undefined): void {
    if (policy === this.#policy) return;
    const before = this.mode;
    this.#policy = policy;
    const effective = this.policy;
    const reasons = new Set<string>();
    let closed = 0;
    for (const [socket, a] of this.#accepted) {
      const verdict = admitConnection(effective, a.kind, a.attributes);
      if (verdict.ok) continue;
      reasons.add(verdict.reason);
      socket.destroy();
      closed++;
    }
    const mode = this.mode;
    if (mode !== before || closed > 0) {
      const source = policy === undefined ? ' (no policy from the control plane: inbound default)' : '';
      this.#o.log?.(`inbound ${this.#o.host}:${this.#port}: mTLS mode ${mode}${source}${closed > 0 ? ` (closed ${closed} connection${closed === 1 ? '' : 's'}: ${[...reasons].join('; ')})` : ''}`);
    }
  }

  get port(): number {
    return this.#port;
  }

  /** The loopback port of the TLS terminator (diagnostics, tests): only hand-offs of the proxy are served there. */
  get terminatorPort(): number {
    return this.#tlsPort;
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.#server) throw new Error('inbound proxy already started');
    const server = createServer({ pauseOnConnect: false }, (socket) => this.#accept(socket));
    this.#port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port, this.#o.host, () => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : this.#o.port);
      });
    }).catch((e: unknown) => {
      throw new ListenError(`cannot listen on ${this.#o.host}:${this.#o.port} for inbound traffic: ${errorMessage(e)}`);
    });
    server.on('error', (e) => this.#o.log?.(`inbound ${this.#o.host}:${this.#port}: ${e.message}`));
    this.#server = server;
    try {
      await this.#startTls();
    } catch (e) {
      await this.stop();
      throw e;
    }
    return this.#port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    const tls = this.#tls;
    this.#server = undefined;
    this.#tls = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#accepted.clear();
    this.#handedOff.clear();
    const closing = [server, tls].filter((x) => x !== undefined).map((x) => new Promise<void>((resolve) => x.close(() => resolve())));
    await Promise.all(closing);
  }

  /** The TLS terminator on a loopback port (see the module comment). */
  async #startTls(): Promise<void> {
    const tls = createTlsServer({ requestCert: true, rejectUnauthorized: true }, (s) => this.#secured(s));
    tls.on('tlsClientError', (e, s) => {
      this.#o.debug?.(`inbound ${this.#o.host}:${this.#port}: TLS handshake failed: ${e.message}`);
      s.destroy();
    });
    tls.on('connection', (s: Socket) => this.#track(s));
    this.#tlsPort = await new Promise<number>((resolve, reject) => {
      tls.once('error', reject);
      tls.listen(0, TERMINATOR_HOST, () => {
        tls.off('error', reject);
        resolve((tls.address() as AddressInfo).port);
      });
    });
    this.#tls = tls;
  }

  #track<S extends Socket>(s: S): S {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
    return s;
  }

  #accept(socket: Socket): void {
    this.#track(socket);
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      const kind: ConnectionKind = first[0] === TLS_HANDSHAKE ? 'tls' : 'plaintext';
      const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      // Plaintext: everything RBAC needs is known now; mTLS: the principal after the handshake.
      const attributes = kind === 'plaintext' ? connectionAttributes(socket) : undefined;
      const verdict = admitConnection(this.policy, kind, attributes);
      if (!verdict.ok) return this.#refuse(socket, `refused ${kind === 'tls' ? 'TLS' : 'plaintext'} from ${peer}: ${verdict.reason}`);
      if (kind === 'tls') {
        if (!this.#currentCertificate()) return this.#refuse(socket, `refused TLS from ${peer}: no workload certificate yet`);
        this.#remember(socket, { kind });
        const inner = this.#track(connect(this.#tlsPort, TERMINATOR_HOST));
        inner.once('connect', () => {
          const handOff = inner.localPort;
          if (handOff === undefined) {
            inner.destroy();
            return;
          }
          this.#handedOff.set(handOff, socket);
          inner.once('close', () => this.#handedOff.delete(handOff));
        });
        inner.write(first);
        this.#join(socket, inner);
      } else {
        this.#remember(socket, { kind, ...(attributes !== undefined ? { attributes } : {}) });
        const app = this.#connectApp();
        app.write(first);
        this.#join(socket, app);
      }
    });
  }

  #remember(socket: Socket, accepted: Accepted): void {
    this.#accepted.set(socket, accepted);
    socket.once('close', () => this.#accepted.delete(socket));
  }

  /** Ends a refused connection; the line (with its reason) goes to the log and the debug output. */
  #refuse(socket: Socket, line: string): void {
    const full = `inbound ${this.#o.host}:${this.#port}: ${line}`;
    this.#o.log?.(full);
    this.#o.debug?.(full);
    socket.destroy();
  }

  #connectApp(): Socket {
    const app = this.#track(new Socket());
    app.connect(this.#o.appPort, this.#o.appHost);
    return app;
  }

  /** Pipes `a` and `b` both ways (half-closes included); an error or close of either ends both. */
  #join(a: Socket | TLSSocket, b: Socket | TLSSocket): void {
    a.pipe(b);
    b.pipe(a);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      x.on('error', () => y.destroy());
      x.on('close', () => y.destroy());
    }
    a.resume();
  }

  /** Whether a certificate exists; a changed one is installed for the next handshakes. */
  #currentCertificate(): boolean {
    const files = this.#o.certificates.read();
    if (!files || !this.#tls) return false;
    if (files.changed) this.#tls.setSecureContext(files.options);
    return true;
  }

  /** A completed mTLS handshake: RBAC with the peer's principal, then the app. */
  #secured(s: TLSSocket): void {
    this.#track(s);
    const outer = s.remotePort !== undefined ? this.#handedOff.get(s.remotePort) : undefined;
    const accepted = outer !== undefined ? this.#accepted.get(outer) : undefined;
    if (outer === undefined || accepted === undefined) return this.#refuse(s, `refused a TLS connection to the terminator that the proxy did not hand off (from ${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'})`);
    const principal = peerPrincipal(s.getPeerCertificate());
    const attributes: ConnectionAttributes = { ...connectionAttributes(outer), principal, serverName: s.servername || '' };
    const peer = `${attributes.sourceIp}:${outer.remotePort ?? '?'}`;
    const verdict = admitConnection(this.policy, 'tls', attributes);
    if (!verdict.ok) {
      this.#refuse(s, `refused mTLS from ${describePeer(principal)} at ${peer}: ${verdict.reason}`);
      outer.destroy();
      return;
    }
    accepted.attributes = attributes;
    this.#o.debug?.(`inbound ${this.#o.host}:${this.#port}: mTLS from ${describePeer(principal)}`);
    this.#join(s, this.#connectApp());
  }
}

/** What RBAC sees of an accepted connection without its principal. */
function connectionAttributes(socket: Socket): ConnectionAttributes {
  return { sourceIp: socket.remoteAddress ?? '', destinationIp: socket.localAddress ?? '', destinationPort: socket.localPort ?? 0 };
}

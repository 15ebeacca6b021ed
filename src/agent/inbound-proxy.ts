/**
 * The agent's inbound mTLS proxy (agent-protocol.md §11), for VM apps that are plain gRPC/TCP
 * servers: what Envoy's inbound listener does for a sidecar. It listens on `<VM IP>:PORT` and
 * forwards each accepted connection to `<VM IP>:APP_PORT`, deciding per connection from its first
 * byte: a TLS ClientHello (0x16) is terminated with the workload certificate (re-read from
 * `DIR/certs` when the files change, so rotation applies to the next connection), requiring a client
 * certificate that chains to the mesh root; anything else is plaintext. The port's mode decides
 * what is accepted (Istio PeerAuthentication): STRICT = mTLS only, DISABLE = plaintext only,
 * PERMISSIVE = both (the default until the control plane says otherwise; proxyless gRPC servers
 * cannot do PERMISSIVE on one port, gRPC A36, hence this proxy).
 *
 * A TLS connection is handed to a TLS server on a private unix socket (first byte included), not
 * wrapped in place: Node cannot put TLS on a socket whose first bytes were already read except
 * through a JavaScript stream, and that path crashes the process on some handshake failures
 * (Node 20: a RangeError from its errno mapping for a client certificate of another root).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, Socket, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { CERT_DIR, CERT_FILES } from './certificates.js';
import { ListenError } from './xds-proxy.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
export const MTLS_MODES: readonly MtlsMode[] = ['STRICT', 'PERMISSIVE', 'DISABLE'];
/** Istio's default when no PeerAuthentication applies, and ours until the control plane answers. */
export const DEFAULT_MTLS_MODE: MtlsMode = 'PERMISSIVE';

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
  readonly mode?: MtlsMode;
  /** Notable events (refusals, handshake failures), one line each. */
  readonly log?: (line: string) => void;
  /** Per connection detail (peer identities). */
  readonly debug?: (line: string) => void;
}

const TLS_HANDSHAKE = 0x16;

export class InboundProxy {
  readonly #o: InboundProxyOptions;
  readonly #sockets = new Set<Socket>();
  /** Accepted client connections by what they carry, so a stricter mode can end those it no longer allows. */
  readonly #accepted = new Map<Socket, 'tls' | 'plaintext'>();
  #mode: MtlsMode;
  #server: NetServer | undefined;
  #tls: TlsServer | undefined;
  #tlsDir: string | undefined;
  #tlsPath = '';
  #port = 0;

  constructor(options: InboundProxyOptions) {
    this.#o = options;
    this.#mode = options.mode ?? DEFAULT_MTLS_MODE;
  }

  get mode(): MtlsMode {
    return this.#mode;
  }

  /**
   * Applies to connections accepted from now on, and ends the open ones the new mode refuses
   * (plaintext ones under STRICT, TLS ones under DISABLE), as Envoy drains the filter chains a
   * listener update removes: a policy takes effect for every caller, not only for new ones.
   */
  setMode(mode: MtlsMode): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    const refused = mode === 'STRICT' ? 'plaintext' : mode === 'DISABLE' ? 'tls' : undefined;
    let closed = 0;
    for (const [socket, kind] of this.#accepted) {
      if (kind !== refused) continue;
      socket.destroy();
      closed++;
    }
    this.#o.log?.(`inbound ${this.#o.host}:${this.#port}: mTLS mode ${mode}${closed > 0 ? ` (closed ${closed} ${refused ?? ''} connection${closed === 1 ? '' : 's'})` : ''}`);
  }

  get port(): number {
    return this.#port;
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
      throw new ListenError(`cannot listen on ${this.#o.host}:${this.#o.port} for inbound traffic: ${e instanceof Error ? e.message : String(e)}`);
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
    const closing = [server, tls].filter((x) => x !== undefined).map((x) => new Promise<void>((resolve) => x.close(() => resolve())));
    await Promise.all(closing);
    if (this.#tlsDir !== undefined) rmSync(this.#tlsDir, { recursive: true, force: true });
    this.#tlsDir = undefined;
  }

  /** The TLS terminator on a unix socket in a private (0700) temporary folder. */
  async #startTls(): Promise<void> {
    const tls = createTlsServer({ requestCert: true, rejectUnauthorized: true }, (s) => this.#secured(s));
    tls.on('tlsClientError', (e, s) => {
      this.#o.debug?.(`inbound ${this.#o.host}:${this.#port}: TLS handshake failed: ${e.message}`);
      s.destroy();
    });
    tls.on('connection', (s: Socket) => this.#track(s));
    this.#tlsDir = mkdtempSync(join(tmpdir(), 'mb-inbound-'));
    this.#tlsPath = join(this.#tlsDir, 'tls.sock');
    await new Promise<void>((resolve, reject) => {
      tls.once('error', reject);
      tls.listen(this.#tlsPath, () => {
        tls.off('error', reject);
        resolve();
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
      const mode = this.#mode;
      const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      if (first[0] === TLS_HANDSHAKE) {
        if (mode === 'DISABLE') return this.#refuse(socket, `refused TLS from ${peer}: mode DISABLE`);
        if (!this.#currentCertificate()) return this.#refuse(socket, `refused TLS from ${peer}: no workload certificate yet`);
        this.#remember(socket, 'tls');
        const inner = this.#track(connect(this.#tlsPath));
        inner.write(first);
        this.#join(socket, inner);
      } else {
        if (mode === 'STRICT') return this.#refuse(socket, `refused plaintext from ${peer}: mode STRICT`);
        this.#remember(socket, 'plaintext');
        const app = this.#connectApp();
        app.write(first);
        this.#join(socket, app);
      }
    });
  }

  #remember(socket: Socket, kind: 'tls' | 'plaintext'): void {
    this.#accepted.set(socket, kind);
    socket.once('close', () => this.#accepted.delete(socket));
  }

  #refuse(socket: Socket, line: string): void {
    this.#o.debug?.(`inbound ${this.#o.host}:${this.#port}: ${line}`);
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

  #secured(s: TLSSocket): void {
    this.#track(s);
    const san = s.getPeerCertificate().subjectaltname ?? '';
    const identity = /URI:(spiffe:\/\/[^,\s]+)/.exec(san)?.[1] ?? '(no SPIFFE id)';
    this.#o.debug?.(`inbound ${this.#o.host}:${this.#port}: mTLS from ${identity}`);
    this.#join(s, this.#connectApp());
  }
}

/**
 * The agent's DNS proxy (`agent --dns-address`, docs/dns.md): answers A and AAAA questions for mesh
 * names from the lookup table (lookup-table.ts) and forwards everything else, unchanged, to the
 * upstream servers of the VM's resolv.conf, over the transport the question came on (Istio's
 * `pkg/dns/client`).
 *
 * Contract:
 * - UDP and TCP on one loopback address (TCP messages framed by a 2-byte length, RFC 1035 §4.2.2).
 * - A packet that does not decode is never forwarded: with a readable 12-byte header it gets FORMERR,
 *   otherwise it is dropped. Responses (QR set) are dropped, never answered. No question: SERVFAIL.
 * - Known name: NOERROR, AA set, answers shuffled (CNAMEs first), TTL 30; a known name without
 *   records of the asked family: NOERROR with no answer.
 * - Forwarded: the decoded question is re-encoded and sent to each upstream in turn (random order
 *   per query, a timeout each); the first reply with the same id is returned as it came; when every
 *   upstream fails: SERVFAIL.
 * - Every reply fits the client's size (UDP: its EDNS size, at least 512; TCP: 65535): a larger one
 *   loses records from the end and gets TC set, so the client asks again over TCP (Istio answers
 *   SERVFAIL there for plain UDP).
 * - Before the first table: forwarded (the VM's own names keep resolving; mesh names resolve once the
 *   table arrives), or SERVFAIL as Istio's non-root agent does, by `beforeFirstTable`.
 * - A new table replaces the old one at once; the last table stays while the control plane is away.
 */
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { randomInt } from 'node:crypto';
import * as dnsPacket from 'dns-packet';
import type { Packet, Answer } from 'dns-packet';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../lib/log/logger.js';
import { buildLookupTable, lookupHost, roundRobin, type LookupSettings, type LookupTable, type NameTable } from './lookup-table.js';
import { splitUpstream } from './resolv-conf.js';
import { frame, unframe, UpstreamClient, type Transport } from './upstream-client.js';
import { errorMessage } from '../../lib/errors.js';

export type { Transport } from './upstream-client.js';

export interface DnsProxyOptions {
  /** `host:port` to listen on, UDP and TCP (port 0 picks one, the same for both). */
  readonly address: string;
  /** Upstream servers, `host:port`, normally from the VM's resolv.conf. */
  readonly upstreams: readonly string[];
  readonly lookup: LookupSettings;
  readonly log: Logger;
  /** Per upstream server (default 5 s, Istio's DNS_FORWARD_TIMEOUT). */
  readonly upstreamTimeoutMs?: number;
  /** What a question gets before the first table (default `forward`). */
  readonly beforeFirstTable?: 'forward' | 'servfail';
  /** Where the dns_* metrics go (default: none kept). */
  readonly metrics?: Registry;
  /** Id source for round robin (tests fix it). */
  readonly nextId?: () => number;
  /** Close a TCP connection after this long without a complete message (default 10 s). */
  readonly tcpIdleMs?: number;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NOTIMP: 4 } as const;
const MIN_UDP_SIZE = 512;
const MAX_MESSAGE = 65535;
const HEADER_BYTES = 12;
const KNOWN_CLASSES = new Set(['IN', 'CS', 'CH', 'HS', 'ANY']);

interface DnsMetrics {
  readonly requests: Counter;
  readonly upstreamRequests: Counter;
  readonly upstreamFailures: Counter;
  readonly upstreamDuration: Histogram;
}

function dnsMetrics(registry: Registry | undefined): DnsMetrics {
  const registers = registry ? [registry] : [];
  return {
    requests: new Counter({ name: 'dns_requests_total', help: 'DNS questions received by the agent', registers }),
    upstreamRequests: new Counter({ name: 'dns_upstream_requests_total', help: 'DNS questions forwarded upstream', registers }),
    upstreamFailures: new Counter({ name: 'dns_upstream_failures_total', help: 'Forwarded questions that no upstream answered', registers }),
    upstreamDuration: new Histogram({ name: 'dns_upstream_request_duration_seconds', help: 'Time to an upstream answer', buckets: [0.001, 0.005, 0.01, 0.1, 1, 5], registers }),
  };
}

/** The size a reply must fit (Istio's `size`): TCP 65535; UDP the query's EDNS size, at least 512. */
export function replySizeLimit(query: Packet, transport: Transport): number {
  if (transport === 'tcp') return MAX_MESSAGE;
  const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
  const advertised = opt && 'udpPayloadSize' in opt ? Number(opt.udpPayloadSize) : 0;
  return Math.min(MAX_MESSAGE, Math.max(MIN_UDP_SIZE, advertised));
}

/** Encodes `reply`, dropping records from the end (answers last) and setting TC until it fits `limit`. */
export function encodeWithin(reply: Packet, limit: number): Buffer {
  let encoded = dnsPacket.encode(reply);
  if (encoded.length <= limit) return encoded;
  const answers = [...(reply.answers ?? [])];
  const authorities = [...(reply.authorities ?? [])];
  const truncated: Packet = { ...reply, flags: (reply.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, additionals: [], authorities, answers };
  while (encoded.length > limit && (authorities.length > 0 || answers.length > 0)) {
    if (authorities.length > 0) authorities.pop();
    else answers.pop();
    encoded = dnsPacket.encode(truncated);
  }
  return encoded;
}

function replyTo(query: Packet, rcode: number, flags = 0): Packet {
  const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  return { id: query.id ?? 0, type: 'response', flags: rd | flags | rcode, questions: query.questions ?? [], answers: [] };
}

/** FORMERR for a packet whose header is readable but whose body is not; nothing otherwise. */
function formatError(raw: Buffer): Buffer | undefined {
  if (raw.length < HEADER_BYTES) return undefined;
  if ((raw.readUInt16BE(2) & 0x8000) !== 0) return undefined; // a response: never answer it
  return dnsPacket.encode({ id: raw.readUInt16BE(0), type: 'response', flags: RCODE.FORMERR, questions: [], answers: [] });
}

/** The smallest question (a root or pointer name of 1 byte, type, class) and record (also TTL, RDLENGTH). */
const MIN_QUESTION_BYTES = 5;
const MIN_RECORD_BYTES = 11;

/**
 * Whether the header's section counts fit in the message at the smallest size of each entry. A
 * message where they do not cannot decode; checked first because dns-packet allocates an array of
 * each claimed count (up to 4 × 65,535 entries) before it finds out, which made a stream of small
 * malformed packets cost milliseconds of CPU each.
 */
function sectionsFit(raw: Buffer): boolean {
  if (raw.length < HEADER_BYTES) return false;
  const questions = raw.readUInt16BE(4);
  const records = raw.readUInt16BE(6) + raw.readUInt16BE(8) + raw.readUInt16BE(10);
  return HEADER_BYTES + questions * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES <= raw.length;
}

/**
 * The message decoded, if it is well-formed in a way that survives re-encoding unchanged: its
 * re-encoding decodes to the same questions (a label holding a dot, an unnamed class or a bad length
 * would come out different). Only such messages are answered or forwarded.
 */
function canonicalQuery(raw: Buffer): Packet | undefined {
  if (!sectionsFit(raw)) return undefined;
  try {
    const query = dnsPacket.decode(raw);
    const questions = query.questions ?? [];
    if (questions.some((q) => !KNOWN_CLASSES.has(q.class ?? 'IN') || q.name.length > 253)) return undefined;
    const again = dnsPacket.decode(dnsPacket.encode(query)).questions ?? [];
    const same = again.length === questions.length && again.every((q, i) => q.name === questions[i]?.name && q.type === questions[i]?.type && q.class === questions[i]?.class);
    return same ? query : undefined;
  } catch {
    return undefined;
  }
}

export class DnsProxy {
  readonly #options: DnsProxyOptions;
  readonly #metrics: DnsMetrics;
  readonly #nextId: () => number;
  #table: LookupTable | undefined;
  #nameTable: NameTable | undefined;
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  readonly #connections = new Set<Socket>();
  readonly #upstream = new UpstreamClient();

  constructor(options: DnsProxyOptions) {
    this.#options = options;
    this.#metrics = dnsMetrics(options.metrics);
    this.#nextId = options.nextId ?? (() => randomInt(0, 65536));
  }

  /** Replaces the lookup table at once (the control plane sent a new NameTable). */
  updateTable(table: NameTable): void {
    this.#table = buildLookupTable(table, this.#options.lookup);
    this.#nameTable = table;
  }

  /** The last NameTable received, if any (for debugging). */
  get nameTable(): NameTable | undefined {
    return this.#nameTable;
  }

  get lookupTable(): LookupTable | undefined {
    return this.#table;
  }

  /**
   * Binds UDP and TCP on the same port of `address` (default: the options' address); resolves with
   * that port. Rejects, having bound nothing, when either cannot listen (so it may be called again).
   */
  async start(address = this.#options.address): Promise<{ host: string; port: number }> {
    const { host, port } = splitUpstream(address);
    const tcp = createServer((socket) => this.#serveTcp(socket));
    tcp.listen({ host, port });
    await once(tcp, 'listening');
    this.#tcp = tcp;
    const bound = tcp.address();
    const boundPort = bound !== null && typeof bound === 'object' ? bound.port : port;
    const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    udp.on('message', (msg, rinfo) => void this.#serveUdp(udp, msg, rinfo));
    udp.on('error', (err) => this.#options.log.warn('dns: udp socket error', { error: err.message }));
    udp.bind({ address: host, port: boundPort });
    try {
      await once(udp, 'listening');
    } catch (e) {
      this.#tcp = undefined;
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      throw e;
    }
    this.#udp = udp;
    return { host, port: boundPort };
  }

  async close(): Promise<void> {
    for (const c of this.#connections) c.destroy();
    this.#upstream.close();
    this.#udp?.close();
    this.#udp = undefined;
    const tcp = this.#tcp;
    this.#tcp = undefined;
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  async #serveUdp(socket: UdpSocket, message: Buffer, from: RemoteInfo): Promise<void> {
    const reply = await this.answer(message, 'udp');
    if (reply !== undefined && this.#udp === socket) socket.send(reply, from.port, from.address);
  }

  #serveTcp(socket: Socket): void {
    this.#connections.add(socket);
    socket.setTimeout(this.#options.tcpIdleMs ?? 10_000, () => socket.destroy());
    socket.on('close', () => this.#connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const { messages, rest } = unframe(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const message of messages) {
        void this.answer(message, 'tcp').then((reply) => {
          if (reply !== undefined && !socket.destroyed) socket.write(frame(reply));
        });
      }
    });
  }

  /**
   * The reply to one DNS message received on `transport`, or undefined when nothing is to be sent.
   * Never throws.
   */
  async answer(raw: Buffer, transport: Transport): Promise<Buffer | undefined> {
    const query = canonicalQuery(raw);
    if (query === undefined) return formatError(raw);
    if (query.type !== 'query') return undefined;
    this.#metrics.requests.inc();
    const limit = replySizeLimit(query, transport);
    const question = query.questions?.[0];
    if (question === undefined) return encodeWithin(replyTo(query, RCODE.SERVFAIL), limit);
    if (((raw.readUInt16BE(2) >> 11) & 0xf) !== 0) return encodeWithin(replyTo(query, RCODE.NOTIMP), limit);
    const table = this.#table;
    if (table === undefined && this.#options.beforeFirstTable === 'servfail') return encodeWithin(replyTo(query, RCODE.SERVFAIL), limit);
    if (table !== undefined) {
      const found = lookupHost(table, question.type, question.name);
      if (found.found) {
        const reply = replyTo(query, RCODE.NOERROR, dnsPacket.AUTHORITATIVE_ANSWER);
        const answers: Answer[] = roundRobin(found.answers, this.#nextId).map((r) => ({ type: r.type, name: r.name, ttl: r.ttl, class: 'IN', data: r.data }));
        return encodeWithin({ ...reply, answers }, limit);
      }
    }
    return this.#forward(query, transport, limit);
  }

  async #forward(query: Packet, transport: Transport, limit: number): Promise<Buffer> {
    this.#metrics.upstreamRequests.inc();
    const stopTimer = this.#metrics.upstreamDuration.startTimer();
    const message = dnsPacket.encode(query);
    const upstreams = [...this.#options.upstreams];
    for (let i = upstreams.length - 1; i > 0; i--) {
      const j = randomInt(0, i + 1);
      [upstreams[i], upstreams[j]] = [upstreams[j] as string, upstreams[i] as string];
    }
    for (const upstream of upstreams) {
      try {
        const raw = await this.#upstream.exchange(upstream, message, transport, this.#options.upstreamTimeoutMs ?? 5000);
        const reply = dnsPacket.decode(raw);
        if (reply.id !== query.id || reply.type !== 'response') throw new Error('reply does not match the question');
        stopTimer();
        return raw.length <= limit ? raw : encodeWithin(reply, limit);
      } catch (e) {
        this.#options.log.info('dns: upstream failed', { upstream, error: errorMessage(e) });
      }
    }
    this.#metrics.upstreamFailures.inc();
    return encodeWithin(replyTo(query, RCODE.SERVFAIL), limit);
  }
}

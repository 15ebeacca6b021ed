/**
 * Forwarding DNS messages to upstream servers.
 *
 * Contract:
 * - UDP: one socket per address family for all forwarded questions. Each forwarded message gets a
 *   fresh random id (so two clients' equal ids cannot cross, and a reply must match an id we chose
 *   and the server's address and port); the reply comes back with the client's id restored.
 * - TCP: one connection per exchange, the message framed by a 2-byte length (RFC 1035 §4.2.2).
 * - Every exchange ends within its timeout: a reply, or a rejection saying why.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import { splitUpstream } from './resolv-conf.js';

export type Transport = 'udp' | 'tcp';

interface PendingExchange {
  readonly host: string;
  readonly port: number;
  readonly clientId: number;
  readonly resolve: (reply: Buffer) => void;
}

/** `[2-byte length][message]`, as DNS over TCP frames it. */
export function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(message.length);
  return Buffer.concat([prefix, message]);
}

/** Splits complete length-prefixed messages off `buffer`; returns them and the incomplete rest. */
export function unframe(buffer: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let rest = buffer;
  while (rest.length >= 2 && rest.length >= 2 + rest.readUInt16BE(0)) {
    const length = rest.readUInt16BE(0);
    messages.push(rest.subarray(2, 2 + length));
    rest = rest.subarray(2 + length);
  }
  return { messages, rest };
}

export class UpstreamClient {
  readonly #sockets = new Map<'udp4' | 'udp6', UdpSocket>();
  readonly #pending = new Map<number, PendingExchange>();

  /** Sends `message` (a well-formed DNS query) to `upstream` (`host:port`); resolves with the raw reply. */
  exchange(upstream: string, message: Buffer, transport: Transport, timeoutMs: number): Promise<Buffer> {
    const { host, port } = splitUpstream(upstream);
    return transport === 'udp' ? this.#overUdp(host, port, message, timeoutMs) : overTcp(host, port, message, timeoutMs);
  }

  close(): void {
    for (const socket of this.#sockets.values()) socket.close();
    this.#sockets.clear();
  }

  #socket(family: 'udp4' | 'udp6'): UdpSocket {
    let socket = this.#sockets.get(family);
    if (socket === undefined) {
      socket = createSocket(family);
      socket.on('message', (reply, from) => {
        if (reply.length < 12) return;
        const pending = this.#pending.get(reply.readUInt16BE(0));
        if (pending === undefined || pending.port !== from.port || pending.host !== from.address) return;
        const restored = Buffer.from(reply);
        restored.writeUInt16BE(pending.clientId, 0);
        pending.resolve(restored);
      });
      socket.on('error', () => undefined); // ICMP errors and the like: the exchange times out
      socket.unref();
      this.#sockets.set(family, socket);
    }
    return socket;
  }

  #overUdp(host: string, port: number, message: Buffer, timeoutMs: number): Promise<Buffer> {
    let id = randomInt(0, 65536);
    for (let tries = 0; this.#pending.has(id) && tries < 65536; tries++) id = (id + 1) % 65536;
    if (this.#pending.has(id)) return Promise.reject(new Error('too many questions in flight'));
    const outgoing = Buffer.from(message);
    outgoing.writeUInt16BE(id, 0);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer from ${host}:${port} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        host,
        port,
        clientId: message.readUInt16BE(0),
        resolve: (reply) => {
          clearTimeout(timer);
          this.#pending.delete(id);
          resolve(reply);
        },
      });
      this.#socket(isIPv6(host) ? 'udp6' : 'udp4').send(outgoing, port, host, (err) => {
        if (err === null) return;
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(err);
      });
    });
  }
}

function overTcp(host: string, port: number, message: Buffer, timeoutMs: number): Promise<Buffer> {
  const socket = connect({ host, port });
  return new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => reject(new Error(`no answer from ${host}:${port} in ${timeoutMs} ms`)));
    socket.on('connect', () => socket.write(frame(message)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const [reply] = unframe(received).messages;
      if (reply !== undefined) resolve(Buffer.from(reply));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`${host}:${port} closed the connection`)));
  }).finally(() => socket.destroy());
}

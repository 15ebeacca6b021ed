/**
 * S5's floor process: the least an xDS server must do to push an endpoint change. It holds one
 * ClusterLoadAssignment (captured from meshbridge's proxies); on `push` it changes one endpoint's
 * weight, encodes the response once and writes it to every subscribed stream, on the transport named
 * by its first argument: `grpc-js` (grpcjs-floor.ts, meshbridge's stack) or `http2` (h2-floor.ts,
 * node:http2 with pre-framed messages). No generation, no diffing, no bookkeeping beyond the list of
 * streams. Driven over IPC by lib/floor.ts.
 */
import { now } from '../lib/time.js';
import { FloorCla, FLOOR_KINDS, type FloorKind, type FloorTransport } from './floor-cla.js';
import { grpcJsFloor } from './grpcjs-floor.js';
import { h2Floor } from './h2-floor.js';

export type ToFloor = { op: 'listen'; cla: string } | { op: 'push'; endpoint: string; weight: number } | { op: 'stop' };
export type FromFloor =
  | { op: 'listening'; address: string }
  | { op: 'failed'; message: string }
  /** `matched`: lb endpoints whose weight the push changed (0: nothing a proxy could recognise). */
  | { op: 'pushed'; encodeMs: number; writeMs: number; streams: number; matched: number; startedAt: number };

const kind = FLOOR_KINDS.find((k) => k === process.argv[2]);
if (kind === undefined) throw new Error(`floor-server: the first argument must be one of ${FLOOR_KINDS.join(', ')}, got ${process.argv[2] ?? 'nothing'}`);
const transportOf: Record<FloorKind, typeof grpcJsFloor> = { 'grpc-js': grpcJsFloor, http2: h2Floor };

let cla: FloorCla | undefined;
let transport: FloorTransport | undefined;
let version = 0;

function send(m: FromFloor): void {
  process.send?.(m);
}

process.on('message', (m: ToFloor) => {
  switch (m.op) {
    case 'listen': {
      cla = new FloorCla(Buffer.from(m.cla, 'base64'));
      transport = transportOf[kind](cla.message);
      transport.listen().then(
        (address) => send({ op: 'listening', address }),
        (e: unknown) => send({ op: 'failed', message: e instanceof Error ? e.message : String(e) }),
      );
      break;
    }
    case 'push': {
      if (cla === undefined || transport === undefined) {
        send({ op: 'failed', message: 'push before listen' });
        return;
      }
      const startedAt = now();
      const matched = cla.setWeight(m.endpoint, m.weight);
      transport.encode(cla.message, String(++version));
      const encodedAt = now();
      const streams = transport.writeAll();
      send({ op: 'pushed', encodeMs: encodedAt - startedAt, writeMs: now() - encodedAt, streams, matched, startedAt });
      break;
    }
    case 'stop':
      transport?.close();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(0), 30 * 60_000).unref();

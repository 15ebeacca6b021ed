/**
 * Per live stream and xDS type: responses sent, ACKs and NACKs counted, the time of the last push
 * and of the last NACK (`GET /api/v1/proxies`). Folded from the ADS stream events; a stream's
 * counters go with its disconnect (a few numbers per stream and type, no resources).
 */
import type { NackView, XdsCounters } from '../api/v1/types.js';
import type { XdsEvent } from '../xds/server/events.js';

interface TypeActivity {
  pushes: number;
  acks: number;
  nacks: number;
  lastNack?: NackView;
}

interface StreamActivity {
  lastPushAt: number | undefined;
  readonly types: Map<string, TypeActivity>;
}

export const NO_COUNTS: XdsCounters = { pushes: 0, acks: 0, nacks: 0 };

export class ProxyActivity {
  private readonly streams = new Map<string, StreamActivity>();

  constructor(private readonly now: () => number = Date.now) {}

  onEvent(e: XdsEvent): void {
    if (e.event === 'connect') {
      this.streams.set(e.stream.streamId, { lastPushAt: undefined, types: new Map() });
      return;
    }
    if (e.event === 'disconnect') {
      this.streams.delete(e.streamId);
      return;
    }
    if (e.event !== 'response' && e.event !== 'ack' && e.event !== 'nack') return;
    const s = this.streams.get(e.streamId);
    if (s === undefined) return;
    let t = s.types.get(e.typeUrl);
    if (t === undefined) s.types.set(e.typeUrl, (t = { pushes: 0, acks: 0, nacks: 0 }));
    if (e.event === 'response') {
      t.pushes++;
      s.lastPushAt = this.now();
    } else if (e.event === 'ack') t.acks++;
    else {
      t.nacks++;
      t.lastNack = { version: e.version, nonce: e.nonce, message: e.error.message, at: new Date(this.now()).toISOString() };
    }
  }

  counters(streamId: string, typeUrl: string): XdsCounters {
    const t = this.streams.get(streamId)?.types.get(typeUrl);
    return t !== undefined ? { pushes: t.pushes, acks: t.acks, nacks: t.nacks } : NO_COUNTS;
  }

  lastNack(streamId: string, typeUrl: string): NackView | undefined {
    return this.streams.get(streamId)?.types.get(typeUrl)?.lastNack;
  }

  lastPushAt(streamId: string): string | null {
    const at = this.streams.get(streamId)?.lastPushAt;
    return at !== undefined ? new Date(at).toISOString() : null;
  }
}

export function sumCounters(all: readonly XdsCounters[]): XdsCounters {
  return all.reduce((a, b) => ({ pushes: a.pushes + b.pushes, acks: a.acks + b.acks, nacks: a.nacks + b.nacks }), NO_COUNTS);
}

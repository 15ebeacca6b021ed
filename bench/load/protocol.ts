/** Messages between the harness and its load-generator processes (Node IPC). */
import type { ProxySpec } from './sim-proxy.js';
import type { Expectation } from '../lib/churn.js';

export type ToWorker =
  | { op: 'start'; xds: string; proxies: ProxySpec[]; firstIndex: number; batch: number; batchGapMs: number }
  | { op: 'expect'; id: number; expect: Expectation }
  | { op: 'collect'; ids: number[] }
  | { op: 'capture'; cluster: string }
  | { op: 'status' }
  | { op: 'stop' };

export interface Sample {
  readonly proxy: number;
  /** Absolute ms (time.ts) the response carrying the change was received. */
  readonly recv: number;
}

export interface ExpectationResult {
  readonly id: number;
  /** Proxies of this worker subscribed to the cluster when the expectation was registered. */
  readonly subscribers: number;
  readonly samples: Sample[];
}

export interface WorkerStatus {
  readonly proxies: number;
  readonly started: number;
  readonly synced: number;
  readonly errors: number;
  readonly lastError: string;
  readonly responses: number;
  readonly bytes: number;
  readonly acks: number;
  /** Absolute ms when the last of its proxies synced. */
  readonly lastSyncedAt: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** Envoy sidecars: responses decoded (distinct bodies) and responses answered from that decoding. */
  readonly decodedBodies: number;
  readonly decodeHits: number;
}

export type FromWorker =
  | { op: 'hello' }
  | { op: 'expecting'; id: number; subscribers: number }
  /** Every subscribed proxy of this worker has the change. */
  | { op: 'done'; id: number }
  | { op: 'results'; results: ExpectationResult[] }
  | { op: 'captured'; cluster: string; base64: string | undefined }
  | { op: 'status'; status: WorkerStatus };

/**
 * The process side of `meshbridge serve` (cli-contract; its flags: serve-command.ts): runs the
 * control plane until SIGINT/SIGTERM. Loaded on demand: the xDS stack (gRPC, generated protobuf
 * code) costs startup time the offline commands do not need.
 */
import { ControlPlane } from '../app/control-plane.js';
import type { ServeSettings } from '../app/serve-settings.js';
import { setLogger } from '@grpc/grpc-js';
import { redact } from '../sources/etcd/etcd-url.js';
import { applyHeapGrowth } from './heap-growth.js';

/**
 * grpc-js's own log lines, as its default logger writes them, except its report of a failed bind:
 * serve says that itself, as one sentence naming the flag (ListenRefused).
 */
function quietBindFailures(): void {
  const write = (prefix: string) => (message?: unknown, ...rest: unknown[]): void => {
    if (typeof message === 'string' && message.startsWith('No address added')) return;
    console.error(`${prefix} ${String(message)}`, ...rest);
  };
  setLogger({ error: write('E'), info: write('I'), debug: write('D') });
}

/** What the process does besides the control plane's settings. */
export interface ServeProcessOptions {
  /** V8's heap growth once serving (heap-growth.ts); undefined: V8's own. */
  readonly heapGrowthPercent?: number;
}

/** Runs the control plane with `settings` until SIGINT/SIGTERM; prints its listening addresses. */
export async function runServe(settings: ServeSettings, out: NodeJS.WritableStream, processOptions: ServeProcessOptions = {}): Promise<number> {
  quietBindFailures();
  const cp = new ControlPlane(settings);
  // SIGINT/SIGTERM handlers go in before anything is printed: a supervisor that signals as soon as it
  // reads the listening lines must get a clean stop, not the default action (death by the signal).
  let signalled: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    signalled();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let listening: Awaited<ReturnType<ControlPlane['start']>>;
  try {
    listening = await cp.start();
  } catch (e) {
    // A refusal at start (wrong secrets key, etcd credentials): release what started, so the process ends.
    onSignal();
    await cp.stop().catch(() => undefined);
    throw e;
  }
  // From here on, not before: bounding the growth while the configuration is first read and indexed
  // (the heap growing from nothing to its working size) made S1's start a third slower.
  if (processOptions.heapGrowthPercent !== undefined) applyHeapGrowth(processOptions.heapGrowthPercent);
  out.write(`xds listening on ${listening.xds !== '' ? listening.xds : 'none (plaintext xDS turned off)'}\n`);
  out.write(`http listening on ${listening.http} (metrics, debug endpoints)\n`);
  if (listening.xdsTls !== undefined) out.write(`xds-tls listening on ${listening.xdsTls}\n`);
  out.write(cp.stateDir !== undefined ? `state in ${cp.stateDir}\n` : `store ${redact(settings.store ?? '')} as instance ${cp.instance}\n`);
  await stopRequested;
  await cp.stop();
  return 0;
}

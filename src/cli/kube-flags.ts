/** `serve`'s flags for reading a Kubernetes cluster beside the store (docs/kubernetes.md). */
import type { Command } from 'commander';
import { parseGoDuration } from '../model/config/validation/duration.js';
import { connectCluster, type ClusterSourceOptions } from '../sources/kube/cluster-source.js';
import { parseDurationSeconds } from './durations.js';
import { UsageError } from './output.js';
import { errorMessage } from '../lib/errors.js';

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  kubeInCluster?: boolean;
  kubeSyncTimeout: string;
}

/**
 * For tests, not a flag (the CLI stays as documented): the watchdog's silence limit, e.g. `2s`
 * (default: each watch's `timeoutSeconds` + 30 s), so that a half-open watch is noticed in seconds.
 */
export const KUBE_WATCHDOG_ENV = 'MESHBRIDGE_KUBE_WATCHDOG';

export function withKubeOptions(c: Command): Command {
  return c
    .option('--kubeconfig <path>', 'also read Pods, Services, EndpointSlices, Nodes and Namespaces from this Kubernetes cluster (the Istio resources stay in the store)')
    .option('--context <name>', "the --kubeconfig context (default: its current-context)")
    .option('--kube-in-cluster', 'as --kubeconfig, from inside a pod: KUBERNETES_SERVICE_HOST and the mounted service account token', false)
    .option('--kube-sync-timeout <duration>', 'how long the first push waits for the cluster to be listed; after it, serve what was read and log what is missing', '30s');
}

/** A Go duration of at least 100 ms, in ms; a UsageError naming the flag otherwise. */
function durationMs(flag: string, text: string): number {
  const nanos = parseGoDuration(text);
  const ms = nanos === undefined ? NaN : Number(nanos / 1_000_000n);
  if (!Number.isFinite(ms) || ms < 100) throw new UsageError(`${flag} must be a duration of at least 100ms (e.g. 2s), not ${JSON.stringify(text)}`);
  return ms;
}

/** The cluster source's options, or undefined when no cluster is read. */
export function clusterSourceOptions(o: KubeFlags, env: NodeJS.ProcessEnv = process.env): ClusterSourceOptions | undefined {
  if (o.context !== undefined && o.kubeconfig === undefined) throw new UsageError('--context needs --kubeconfig PATH');
  if (o.kubeInCluster === true && o.kubeconfig !== undefined) throw new UsageError('serve takes --kubeconfig PATH or --kube-in-cluster, not both');
  if (o.kubeconfig === undefined && o.kubeInCluster !== true) return undefined;
  const syncTimeoutMs = parseDurationSeconds('--kube-sync-timeout', o.kubeSyncTimeout) * 1000;
  const options: ClusterSourceOptions = {
    ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context !== undefined ? { context: o.context } : {}),
    syncTimeoutMs,
    ...(env[KUBE_WATCHDOG_ENV] !== undefined ? { watchdogMs: durationMs(KUBE_WATCHDOG_ENV, env[KUBE_WATCHDOG_ENV]) } : {}),
  };
  // Refused before anything starts, with the file and what is wrong (serve reads it again at start).
  try {
    connectCluster(options);
  } catch (e) {
    throw new UsageError(`${o.kubeconfig !== undefined ? '--kubeconfig' : '--kube-in-cluster'}: ${errorMessage(e)}`);
  }
  return options;
}

/**
 * Issue 16: whether this replica, which may well reach etcd, is cut off from the leader or from its
 * agents (`/debug/storez` `partition`). Read at request time, nothing cached:
 * - the leader: its HTTP address (published in its etcd record) asked for `/ready` directly, with a
 *   short timeout; a leader that etcd names but that does not answer is a partition between them
 *   (or a leader that hangs);
 * - the agents: agent streams still open here whose workloads connected to another replica since
 *   (RegistrationController.agentView): their agents could not reach this replica.
 */
import type { Coordination } from '../lifecycle/coordination.js';
import { errorMessage } from '../lib/errors.js';

export interface PartitionReport {
  /** True when either check found a partition. */
  readonly partitioned: boolean;
  /** One sentence per finding ('' when none). */
  readonly message: string;
  readonly leader: {
    readonly instance: string | null;
    /** null: not asked (this replica leads, no leader known, or none advertised an address). */
    readonly reachable: boolean | null;
    readonly message: string;
  };
  readonly agents: {
    /** Agent streams open here. */
    readonly streams: number;
    /** `WorkloadEntry/ns/name` of those whose workload connected to another replica since. */
    readonly takenOver: readonly string[];
    readonly message: string;
  };
}

export interface PartitionSources {
  readonly instance: string;
  readonly coordination: Coordination;
  readonly agentView: () => Promise<{ readonly streams: number; readonly takenOver: readonly string[] }>;
  /** How long the leader's HTTP port is given to answer (default 1 s). */
  readonly timeoutMs?: number;
}

export async function partitionReport(s: PartitionSources): Promise<PartitionReport> {
  const [leader, agents] = await Promise.all([leaderCheck(s), agentCheck(s)]);
  const findings = [leader.reachable === false ? leader.message : '', agents.takenOver.length > 0 ? agents.message : ''].filter((m) => m !== '');
  return { partitioned: findings.length > 0, message: findings.join(' '), leader, agents };
}

async function leaderCheck(s: PartitionSources): Promise<PartitionReport['leader']> {
  const peer = s.coordination.leaderPeer?.();
  if (peer === undefined) return { instance: null, reachable: null, message: s.coordination.leaderPeer ? 'no leader is known' : 'a single process: no peers' };
  if (peer.instance === s.instance) return { instance: peer.instance, reachable: null, message: 'this replica is the leader' };
  if (peer.http === undefined) return { instance: peer.instance, reachable: null, message: `the leader ${peer.instance} advertised no HTTP address` };
  try {
    await fetch(`http://${peer.http}/ready`, { signal: AbortSignal.timeout(s.timeoutMs ?? 1000) });
    return { instance: peer.instance, reachable: true, message: `the leader ${peer.instance} answers at ${peer.http}` };
  } catch (e) {
    return {
      instance: peer.instance,
      reachable: false,
      message: `partitioned from the leader: etcd names ${peer.instance} the leader, but it does not answer at ${peer.http} (${errorMessage(e)}).`,
    };
  }
}

async function agentCheck(s: PartitionSources): Promise<PartitionReport['agents']> {
  let view;
  try {
    view = await s.agentView();
  } catch (e) {
    return { streams: 0, takenOver: [], message: `cannot compare the agent streams with the store: ${errorMessage(e)}` };
  }
  const n = view.takenOver.length;
  const message =
    n === 0
      ? `${view.streams} agent stream(s) open here; none of their workloads connected elsewhere since`
      : `partitioned from agents: ${n} of the ${view.streams} agent stream(s) open here belong to workloads that connected to another replica since (${view.takenOver.slice(0, 5).join(', ')}${n > 5 ? ', ...' : ''}); their agents cannot reach this replica.`;
  return { streams: view.streams, takenOver: view.takenOver, message };
}

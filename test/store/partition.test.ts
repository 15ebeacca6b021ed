/**
 * Issue 16 item 3: a replica that reaches etcd but is cut off from the leader or from its agents is
 * detected and says so on `/debug/storez` (`partition`).
 * - From the leader, real processes: two `serve` replicas on one etcd (a long session TTL, so etcd
 *   keeps naming the leader); the leader is frozen (SIGSTOP: it holds its lease but answers
 *   nothing, as behind a partition): the follower's storez says it is partitioned from the leader,
 *   naming it; after SIGCONT it answers again and the finding goes.
 * - From its agents: a replica still holding an agent's stream while that agent connected to
 *   another replica (it could not reach this one) reports the workload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionReport, type PartitionReport } from '../../src/app/partition-report.js';
import { silentLogger } from '../../src/lib/log/logger.js';
import { RegistrationController } from '../../src/lifecycle/registration-controller.js';
import type { WorkloadGroup } from '../../src/model/config/types.js';
import { newSigningKey } from '../../src/security/registration-token.js';
import { MemoryStore } from '../../src/sources/memory/memory-store.js';
import { waitFor } from '../e2e/serve-process.js';
import { startEtcd } from '../support/etcd.js';
import { Peers } from '../support/peers.js';
import { testProxy } from '../support/proxy-identity.js';
import { startReplica, type Replica } from '../support/serve-replica.js';

type Storez = { leader: boolean; partition: PartitionReport };

test('a replica whose leader does not answer (frozen behind a partition) says so on /debug/storez, and stops saying so when it answers', { timeout: 90_000 }, async (t) => {
  const etcd = await startEtcd(1);
  t.after(() => etcd.stop());
  const replicas: Replica[] = [];
  t.after(async () => {
    for (const r of replicas) {
      try {
        process.kill(r.pid, 'SIGCONT');
      } catch {
        // already gone
      }
      await r.kill('SIGKILL');
    }
  });
  replicas.push(await startReplica(etcd.url, 'cp-1', ['--session-ttl', '30']));
  replicas.push(await startReplica(etcd.url, 'cp-2', ['--session-ttl', '30']));
  const roles = await waitFor(async () => {
    const views = await Promise.all(replicas.map((r) => r.get<Storez>('/debug/storez')));
    const leader = views.findIndex((v) => v.leader);
    const follower = views.findIndex((v) => !v.leader && v.partition.leader.reachable === true);
    return leader >= 0 && follower >= 0 ? { leader: replicas[leader] as Replica, follower: replicas[follower] as Replica } : undefined;
  }, 30_000, 'a leader, and a follower that reaches it');
  const before = await roles.follower.get<Storez>('/debug/storez');
  assert.equal(before.partition.partitioned, false);
  assert.equal(before.partition.leader.instance, roles.leader.instance);

  process.kill(roles.leader.pid, 'SIGSTOP');
  const cut = await roles.follower.get<Storez>('/debug/storez');
  assert.equal(cut.partition.partitioned, true);
  assert.equal(cut.partition.leader.reachable, false);
  assert.match(cut.partition.message, new RegExp(`^partitioned from the leader: etcd names ${roles.leader.instance} the leader, but it does not answer at 127\\.0\\.0\\.1:\\d+`));
  assert.equal(cut.leader, false, 'etcd still names the frozen replica the leader (its lease holds)');

  process.kill(roles.leader.pid, 'SIGCONT');
  await waitFor(async () => ((await roles.follower.get<Storez>('/debug/storez')).partition.partitioned ? undefined : true), 15_000, 'the finding to go once the leader answers');
});

test('a replica still holding the stream of an agent that connected to another replica reports the workload (its agents cannot reach it)', async () => {
  const group: WorkloadGroup = {
    kind: 'WorkloadGroup',
    apiVersion: 'networking.istio.io/v1',
    metadata: { name: 'vm', namespace: 'ns1', labels: {}, annotations: {} },
    spec: { template: { ports: { http: 8080 } } },
    origin: { file: 'g', line: 1, column: 1, order: 0 },
  };
  const store = new MemoryStore();
  const peers = new Peers();
  peers.leader = 'cp-2';
  const replica = (instance: string) => {
    const coordination = peers.coordination(instance);
    const controller = new RegistrationController({ store, coordination, group: () => group, signingKey: newSigningKey(), gracePeriodMs: 1000, log: silentLogger });
    return { controller, report: () => partitionReport({ instance, coordination, agentView: () => controller.agentView() }) };
  };
  const cp1 = replica('cp-1');
  const cp2 = replica('cp-2');
  const agent = (ip: string) => testProxy({ type: 'sidecar', ip, name: 'vm', namespace: 'ns1', labels: {}, metadata: { MESHBRIDGE_AGENT: 'true', AUTO_REGISTER_GROUP: 'vm' } });
  try {
    cp1.controller.onConnect('s1', agent('10.0.7.1'));
    cp1.controller.onConnect('s2', agent('10.0.7.2'));
    await cp1.controller.idle();
    const healthy = await cp1.report();
    assert.equal(healthy.partitioned, false);
    assert.equal(healthy.agents.streams, 2);

    // 10.0.7.1's agent cannot reach cp-1 any more and connects to cp-2; cp-1 never saw its stream end.
    await new Promise((r) => setTimeout(r, 5));
    cp2.controller.onConnect('s3', agent('10.0.7.1'));
    await cp2.controller.idle();
    const cut = await cp1.report();
    assert.equal(cut.partitioned, true);
    assert.deepEqual(cut.agents.takenOver, ['WorkloadEntry/ns1/vm-10.0.7.1']);
    assert.match(cut.message, /^partitioned from agents: 1 of the 2 agent stream\(s\) open here belong to workloads that connected to another replica since \(WorkloadEntry\/ns1\/vm-10\.0\.7\.1\); their agents cannot reach this replica\.$/);
    assert.equal((await cp2.report()).partitioned, false, 'the replica the agent reached is fine');
  } finally {
    await cp1.controller.stop();
    await cp2.controller.stop();
  }
});

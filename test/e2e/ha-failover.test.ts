/**
 * Issue 16, "done when": high availability as an operator runs it, real processes only. A 3-member
 * etcd, two `serve --store etcd://...` replicas, VM bootstraps written by `workload entry configure
 * --store etcd://... --control-plane A,B` (both replicas' secure xDS addresses), two real
 * `meshbridge agent`s, a real proxyless gRPC client (grpc-js-xds) calling the VMs.
 *
 * 1. The replica the agents use (the one holding most of them) is SIGKILLed: the agents move to the
 *    other one; the client's calls, each given the client's retry window (RETRY_WINDOW_MS) as its
 *    deadline, all succeed; the VMs never leave the surviving replica's endpoints, for longer than
 *    session TTL + grace period (what a dead replica's entries would last without the move).
 * 2. The etcd leader is SIGKILLed: the calls still all succeed, the endpoints do not change.
 * 3. The killed replica restarts on its address; the other one is SIGKILLed: the agents land on the
 *    restarted replica, which keeps both VMs in its endpoints all along.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackend } from '../xds/fixtures/backends.js';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { startEtcd } from '../support/etcd.js';
import { freePort } from '../support/ports.js';
import { startReplica, type Replica } from '../support/serve-replica.js';
import { docs, NS, proxyless, serviceEntry, workloadGroup } from './mesh.js';
import { cleanups, runCli, waitFor } from './serve-process.js';
import { startAgentProcess, type VmAgent } from './vm-agent.js';

const HOST = 'ha.vm.test';
const VM_IPS = ['127.0.93.1', '127.0.93.2'] as const;
/** The client's retry window: every call is given this long (its deadline); none may fail. */
const RETRY_WINDOW_MS = 2000;
const SESSION_TTL_S = 2;
const GRACE_MS = 3000;
/** How long the VMs must stay in EDS after the kill: past what a dead replica's entries would last. */
const HOLD_MS = SESSION_TTL_S * 1000 + GRACE_MS + 2000;

type Endpoints = { host: string; endpoints: { address: string }[] }[];

/** The VM addresses missing from `replica`'s endpoints of HOST (an unreachable replica: all of them). */
async function missingVms(replica: Replica): Promise<string[]> {
  const services = await replica.get<Endpoints>(`/debug/endpointz?namespace=${NS}&host=${HOST}`).catch(() => [] as Endpoints);
  const present = new Set(services.flatMap((s) => s.endpoints.map((e) => e.address)));
  return VM_IPS.filter((ip) => !present.has(ip));
}

/** Polls `replica`'s endpoints every 100 ms until `stop()`; returns the samples that lacked a VM. */
function watchEndpoints(replica: Replica): { stop(): Promise<string[]> } {
  const gaps: string[] = [];
  let running = true;
  const polling = (async () => {
    while (running) {
      const missing = await missingVms(replica);
      if (missing.length > 0) gaps.push(`${new Date().toISOString()} missing ${missing.join(', ')}`);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await polling;
      return gaps;
    },
  };
}

/** The control-plane address an agent's log says it connected to last. */
function connectedTo(agent: VmAgent): string | undefined {
  return [...agent.logs().matchAll(/connected to (\S+)/g)].at(-1)?.[1];
}

/** Whether the agent logged a registration after the first `mark` characters of its log. */
function registeredSince(agent: VmAgent, mark: number | undefined): boolean {
  return /registered as/.test(agent.logs().slice(mark ?? 0));
}

test('HA: agents fail over between replicas, the client never fails, entries never leave EDS; etcd loses a member; the restarted replica takes the agents back', { timeout: 240_000 }, async (t) => {
  const own = cleanups(t);
  const etcd = own(await startEtcd(3), (e) => e.stop());
  const dir = mkdtempSync(join(tmpdir(), 'mb-ha-'));
  const first = own(await startBackend('vm1', VM_IPS[0]), (b) => b.stop());
  own(await startBackend('vm2', VM_IPS[1], first.port), (b) => b.stop());
  const groupFile = join(dir, 'group.yaml');
  writeFileSync(groupFile, workloadGroup('ha-vm', 'ha', first.port));
  writeFileSync(join(dir, 'service.yaml'), docs(serviceEntry('ha', HOST, { app: 'ha' })));

  const secure = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`] as const;
  const flags = ['--session-ttl', String(SESSION_TTL_S), '--grace-period', String(GRACE_MS), '--debounce', '20'];
  const replicaOn = (i: 0 | 1): Promise<Replica> => startReplica(etcd.url, `cp-${i + 1}`, flags, { secureXdsAddress: secure[i] });
  const replicas: Replica[] = [own(await replicaOn(0), (r) => r.kill('SIGKILL')), own(await replicaOn(1), (r) => r.kill('SIGKILL'))];
  const applied = await runCli(['apply', '-f', groupFile, '-f', join(dir, 'service.yaml'), '--store', etcd.url], 30_000);
  assert.equal(applied.code, 0, applied.stderr);

  // The operator's onboarding: one bootstrap per VM, naming both replicas.
  const agents: VmAgent[] = [];
  for (const [i, ip] of VM_IPS.entries()) {
    const bootstrap = join(dir, `vm${i + 1}`);
    const conf = await runCli(['workload', 'entry', 'configure', '-f', groupFile, '-o', bootstrap, '--control-plane', secure.join(','), '--store', etcd.url], 30_000);
    assert.equal(conf.code, 0, conf.stderr);
    agents.push(startAgentProcess(own, bootstrap, ip));
  }
  const agentLogs = (): string => agents.map((a, i) => `agent ${VM_IPS[i] ?? ''}:\n${a.logs()}`).join('\n');
  const serveLogs = (): string => replicas.map((r) => `serve ${r.instance}:\n${r.logs().slice(-3000)}`).join('\n');
  const diagnose = (e: unknown): never => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${agentLogs()}\n${serveLogs()}`);
  };
  await waitFor(() => (agents.every((a) => /registered as/.test(a.logs()) && connectedTo(a) !== undefined) ? true : undefined), 60_000, 'both agents registered').catch(diagnose);

  // The victim: the replica most agents use; the client and the endpoint watch use the other one.
  const on = (address: string): number => agents.filter((a) => connectedTo(a) === address).length;
  const victim: 0 | 1 = on(secure[0]) >= on(secure[1]) ? 0 : 1;
  const survivor: 0 | 1 = victim === 0 ? 1 : 0;
  const movers = agents.filter((a) => connectedTo(a) === secure[victim]);
  process.stdout.write(`# agents on ${secure.map((s) => `${s}: ${on(s)}`).join(', ')}; killing ${replicas[victim]?.instance ?? ''}\n`);
  const survivorReplica = replicas[survivor] as Replica;
  await waitFor(async () => ((await missingVms(survivorReplica)).length === 0 ? true : undefined), 30_000, 'both VMs in the surviving replica\'s endpoints').catch(diagnose);

  const client = own(new XdsClientChild(proxyless(survivorReplica.xds, HOST)), (c) => c.stop());
  await client.ready();
  for (const id of ['vm1', 'vm2']) {
    const reached = await client.send({ op: 'until', backend: id, timeoutMs: 30_000 }, 35_000);
    assert.ok(reached.reached, `${id} never answered: ${reached.last}`);
  }

  // 1 + 2: continuous calls while the replica dies, the agents move, then an etcd member dies.
  const watch = watchEndpoints(survivorReplica);
  const runMs = HOLD_MS + 6000;
  const calls = client.send({ op: 'run', durationMs: runMs, deadlineMs: RETRY_WINDOW_MS }, runMs + 30_000);
  await sleep(500);
  const killedAt = Date.now();
  const beforeKill = movers.map((a) => a.logs().length);
  await (replicas[victim] as Replica).kill('SIGKILL');
  await waitFor(() => (movers.every((a, i) => registeredSince(a, beforeKill[i]) && connectedTo(a) === secure[survivor]) ? true : undefined), 30_000, 'the agents to move to the other replica').catch(diagnose);
  process.stdout.write(`# ${movers.length} agent(s) moved to ${secure[survivor]} ${Date.now() - killedAt} ms after the kill\n`);
  await sleep(Math.max(0, killedAt + HOLD_MS - Date.now()));
  const leader = await etcd.leader();
  await leader.kill('SIGKILL');
  process.stdout.write(`# etcd member ${leader.name} (the raft leader) killed\n`);
  const result = await calls;
  const gaps = await watch.stop();
  process.stdout.write(`# calls during the failovers: ${JSON.stringify(result.counts)}, ${result.errors.length} failed\n`);
  assert.deepEqual(result.errors, [], `calls failed (retry window ${RETRY_WINDOW_MS} ms)`);
  assert.ok((result.counts['vm1'] ?? 0) > 0 && (result.counts['vm2'] ?? 0) > 0, `both VMs answered: ${JSON.stringify(result.counts)}`);
  assert.deepEqual(gaps, [], 'the VMs never left the surviving replica\'s endpoints');
  assert.ok(agents.every((a) => connectedTo(a) === secure[survivor]), `every agent is on the surviving replica\n${agentLogs()}`);

  // 3: the killed replica restarts on its address and takes the agents when the other one dies.
  const restarted = own(await replicaOn(victim), (r) => r.kill('SIGKILL'));
  replicas[victim] = restarted;
  await waitFor(async () => ((await missingVms(restarted)).length === 0 ? true : undefined), 30_000, 'both VMs in the restarted replica\'s endpoints').catch(diagnose);
  const watchRestarted = watchEndpoints(restarted);
  const beforeSecondKill = agents.map((a) => a.logs().length);
  await survivorReplica.kill('SIGKILL');
  await waitFor(
    () => (agents.every((a, i) => registeredSince(a, beforeSecondKill[i]) && connectedTo(a) === secure[victim]) ? true : undefined),
    30_000,
    'the agents to land on the restarted replica',
  ).catch(diagnose);
  await sleep(SESSION_TTL_S * 1000 + GRACE_MS);
  const restartedGaps = await watchRestarted.stop();
  assert.deepEqual(restartedGaps, [], 'the VMs never left the restarted replica\'s endpoints');
  // The client lost its xDS server with the second kill: it keeps its last configuration and calls go on.
  const after = await client.send({ op: 'run', durationMs: 2000, deadlineMs: RETRY_WINDOW_MS }, 30_000);
  assert.deepEqual(after.errors, [], 'calls after the second replica kill');
});

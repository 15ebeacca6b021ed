/**
 * Issue 3, end to end: a NACK from a real proxyless client is visible and is not resent.
 *
 * The rejected configuration: a DestinationRule asking for a hash ring of 10,000,000 entries
 * (`consistentHash.ringHash.minimumRingSize`). Istio's validation accepts it (so does meshbridge's,
 * which follows Istio's, with a warning), the generator passes the value through as Istio does, and
 * the data plane refuses it: gRPC NACKs rings over 8,388,608 ("ring_hash_lb_config.minimum_ring_size
 * is too large"), and Envoy's API has the same bound (`lte: 8388608`). The client keeps its last
 * accepted Cluster, so traffic goes on.
 *
 * Shown: /debug/syncz and the real `meshbridge proxy-status` report CDS NACKED with the client's
 * error; no Cluster is pushed to it again (its sent version, `pilot_xds_pushes{type="cds"}`) while the
 * configuration of its clusters stays the same, even when other clusters of its view change (a
 * neighbour of the same view dials another service); fixing the rule sends one new Cluster, which is
 * ACKed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdsClientChild } from '../xds/fixtures/client-process.js';
import { backend, docs, NS, proxyless, serviceEntry, workloadEntry } from './mesh.js';
import { cleanups, metricValue, runCli, type ServeProcess, startServe, waitFor } from './serve-process.js';

const HOST = 'nack.demo.test';

function ringRule(host: string, minimumRingSize: number): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host.split('.')[0]}, namespace: ${NS}}
spec:
  host: ${host}
  trafficPolicy: {loadBalancer: {consistentHash: {ringHash: {minimumRingSize: ${minimumRingSize}}}}}
`;
}

const CLIENT_ID = proxyless('', HOST).nodeId;

async function cdsOf(serve: ServeProcess) {
  const p = (await serve.syncz()).find((x) => x.proxy === CLIENT_ID);
  return { proxy: p, cds: p?.types.find((ty) => ty.type === 'CDS') };
}

const cdsPushes = async (serve: ServeProcess): Promise<number> => metricValue(await serve.text('/metrics'), 'pilot_xds_pushes', { type: 'cds' });

test('NACK: a Cluster the client refuses shows as NACKED with its error and is not resent until its configuration changes', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const [a, b] = await Promise.all([backend(own, 'a', '127.0.81.1'), backend(own, 'b', '127.0.82.1')]);
  const serve = await startServe({
    files: {
      'mesh.yaml': docs(serviceEntry('nack', HOST, { app: 'nack' }), workloadEntry('nack-a', a, { app: 'nack' })),
      'other.yaml': docs(serviceEntry('other', 'other.demo.test', { app: 'other' }), workloadEntry('other-b', b, { app: 'other' })),
      'rule.yaml': ringRule(HOST, 1024),
    },
  });
  own(serve, (x) => x.stop());
  const client = new XdsClientChild(proxyless(serve.xds, HOST));
  own(client, (x) => x.stop());
  await client.ready(30_000);
  // A second client of the same view dials the other service: proxyless views hold the hosts their
  // clients ask for (generated on demand), so the view's CDS holds both hosts.
  const neighbour = new XdsClientChild(proxyless(serve.xds, 'other.demo.test', { nodeId: `proxyless~127.0.9.2~neighbour.${NS}~${NS}.svc.cluster.local` }));
  own(neighbour, (x) => x.stop());
  await neighbour.ready(30_000);
  assert.deepEqual((await neighbour.send({ op: 'call', count: 1, deadlineMs: 10_000 }, 15_000)).counts, { b: 1 });
  // RING_HASH: no waitForReady (the channel stays IDLE until a pick connects, gRFC A42).
  const first = await client.send({ op: 'call', count: 10, deadlineMs: 10_000 }, 15_000);
  assert.deepEqual(first.counts, { a: 10 });
  await waitFor(async () => ((await cdsOf(serve)).cds?.state === 'SYNCED' ? true : undefined), 15_000, 'CDS SYNCED');
  const pushesBefore = await cdsPushes(serve);

  // The refused ring size.
  serve.write('rule.yaml', ringRule(HOST, 10_000_000));
  const nacked = await waitFor(async () => {
    const { cds } = await cdsOf(serve);
    return cds?.state === 'NACKED' ? cds : undefined;
  }, 15_000, 'CDS NACKED in /debug/syncz');
  assert.match(nacked.nack?.error ?? '', /ring_hash_lb_config\.minimum_ring_size is too large: 10000000/);
  assert.equal(nacked.sent, nacked.nack?.version, 'the NACK answers the version sent');
  assert.notEqual(nacked.acked, nacked.sent, 'the last ACKed version is the previous one');
  // serve applied the rule (valid, as in Istio) and warned about it in /debug/configz.
  const configz = await serve.get<{ files: { path: string; rejected: boolean; warnings: { field: string; message: string }[] }[] }>('/debug/configz');
  const ruleFile = configz.files.find((f) => f.path.endsWith('rule.yaml'));
  assert.equal(ruleFile?.rejected, false);
  assert.ok(ruleFile?.warnings.some((w) => w.field.endsWith('ringHash.minimumRingSize') && /NACK/.test(w.message)), JSON.stringify(ruleFile));
  const pushesAtNack = await cdsPushes(serve);
  assert.equal(pushesAtNack, pushesBefore + 1, 'one Cluster push carried the refused ring');
  const metrics = await serve.text('/metrics');
  assert.equal(metricValue(metrics, 'pilot_total_xds_rejects', { type: 'cds' }), 1);
  assert.match(serve.logs(), /proxy rejected configuration \(NACK\).*"type":"CDS".*minimum_ring_size is too large/);

  // The client keeps its last accepted Cluster: calls go on.
  const during = await client.send({ op: 'call', count: 20, deadlineMs: 2000 }, 15_000);
  assert.deepEqual(during.errors, []);
  assert.deepEqual(during.counts, { a: 20 });

  // The real CLI shows it, like istioctl proxy-status.
  const status = await runCli(['proxy-status', '--http-address', serve.http]);
  assert.equal(status.code, 0, status.stderr);
  const [header, ...rows] = status.stdout.split('\n');
  const row = rows.find((r) => r.startsWith('client.'));
  const columns = header?.trim().split(/\s{2,}/) ?? [];
  const cells = row?.trim().split(/\s{2,}/) ?? [];
  const cell = (name: string): string | undefined => cells[columns.indexOf(name)];
  assert.equal(cell('CDS'), 'NACKED', status.stdout);
  for (const ty of ['LDS', 'EDS', 'RDS']) assert.equal(cell(ty), 'SYNCED', `${ty} in\n${status.stdout}`);
  assert.match(status.stdout, /NACKs?:[\s\S]*CDS[\s\S]*minimum_ring_size is too large: 10000000/);

  // Another cluster of the same view changes (new CDS version for the view): the client's own
  // clusters are the same, so the refused Cluster is not sent again.
  const viewVersion = nacked.current;
  serve.write('other-rule.yaml', ringRule('other.demo.test', 2048));
  await waitFor(async () => ((await cdsOf(serve)).cds?.current !== viewVersion ? true : undefined), 15_000, 'a new CDS version of the view');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await cdsPushes(serve), pushesAtNack + 1, 'one CDS push after the NACK: the neighbour’s, whose cluster changed');
  const still = (await cdsOf(serve)).cds;
  assert.equal(still?.sent, nacked.sent, 'nothing sent to the client while its clusters are unchanged');
  assert.equal(still?.state, 'NACKED');

  // The configuration changes: one new Cluster, ACKed.
  serve.write('rule.yaml', ringRule(HOST, 4096));
  const fixed = await waitFor(async () => {
    const { cds } = await cdsOf(serve);
    return cds?.state === 'SYNCED' ? cds : undefined;
  }, 15_000, 'CDS SYNCED after the fix');
  assert.equal(fixed.nack, undefined);
  assert.equal(await cdsPushes(serve), pushesAtNack + 2);
  const after = await client.send({ op: 'call', count: 10, deadlineMs: 2000 }, 15_000);
  assert.deepEqual(after.counts, { a: 10 });
});

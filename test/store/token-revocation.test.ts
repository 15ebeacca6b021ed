/**
 * Issue 11: `meshbridge workload entry revoke` (the real program) against etcd with two control
 * plane replicas (real ControlPlane objects, their real gRPC ports): the revocation is written onto
 * the WorkloadGroup in the store, and both replicas refuse the revoked tokens — by id, then every
 * token of the group — as soon as their watch delivers the change, with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyObjects } from '../../src/app/apply-objects.js';
import { newSigningKey, verifyToken } from '../../src/security/registration-token.js';
import { createEtcdClient } from '../../src/sources/etcd/etcd-client.js';
import { sharedSigningKey } from '../../src/sources/etcd/etcd-coordination.js';
import { EtcdStore } from '../../src/sources/etcd/etcd-store.js';
import { runCli } from '../e2e/serve-process.js';
import { startEtcd } from '../support/etcd.js';
import { objectsFrom } from '../support/mesh.js';
import { bearer, refusal, TokenMesh, until } from '../support/token-mesh.js';

const GROUP = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: vm, namespace: team-a}
spec:
  template: {serviceAccount: sa-a}
`;
const VM = { namespace: 'team-a', group: 'vm', serviceAccount: 'sa-a' } as const;

/** Polls `replica` until `token` is refused; resolves with the refusal and how long it took. */
async function refusedWithin(replica: TokenMesh, token: string, ms: number): Promise<{ code: number; details: string; afterMs: number }> {
  const start = Date.now();
  for (;;) {
    const r = refusal(await replica.createCertificate(bearer(token)));
    if (r !== 'accepted') return { ...r, afterMs: Date.now() - start };
    if (Date.now() - start > ms) throw new Error(`the token was still accepted ${ms} ms after the revocation`);
  }
}

test('workload entry revoke on etcd: every replica refuses the token, then every token of the group, one watch round-trip after the write', { timeout: 120_000 }, async (t) => {
  const etcd = await startEtcd(1);
  const store = new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints }), { description: etcd.url });
  const replicas: TokenMesh[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mb-revoke-'));
  t.after(async () => {
    for (const r of replicas) await r.stop();
    await store.close();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.ok((await applyObjects(store, objectsFrom(GROUP))).ok);
  const key = await sharedSigningKey(store.client, undefined, newSigningKey);
  replicas.push(await TokenMesh.onStore(etcd.url, 'r1', key), await TokenMesh.onStore(etcd.url, 'r2', key));
  const [r1, r2] = replicas as [TokenMesh, TokenMesh];
  for (const r of replicas) await until(() => r.cp.registry.inputs.WorkloadGroup.get('WorkloadGroup/team-a/vm') !== undefined, 10_000, 'the group reached the replica');

  const stolen = r1.sign(VM);
  const other = r1.sign(VM);
  for (const r of replicas) assert.equal(refusal(await r.createCertificate(bearer(stolen))), 'accepted');
  const claims = verifyToken(stolen, key, Math.floor(Date.now() / 1000));
  assert.ok(claims.ok);

  const byId = await runCli(['workload', 'entry', 'revoke', claims.claims.id, '--group', 'vm', '-n', 'team-a', '--store', etcd.url]);
  assert.equal(byId.code, 0, byId.stderr);
  assert.equal(byId.stdout, `WorkloadGroup team-a/vm: token ${claims.claims.id} revoked (every control plane refuses it once it has seen this change)\n`);
  for (const r of [r1, r2]) {
    const refused = await refusedWithin(r, stolen, 5000);
    assert.equal(refused.code, 16);
    assert.equal(refused.details, `the registration token ${claims.claims.id} was revoked (WorkloadGroup team-a/vm, annotation meshbridge.io/revoked-tokens)`);
    assert.equal(refusal(await r.renew(stolen, bearer(stolen))) !== 'accepted', true, 'nor renewed');
    assert.equal(refusal(await r.createCertificate(bearer(other))), 'accepted', 'another token of the group still works');
  }

  // Every token of the group, also given as a token file.
  const file = join(dir, 'registration-token');
  writeFileSync(file, `${other}\n`, { mode: 0o600 });
  const all = await runCli(['workload', 'entry', 'revoke', '--group', 'vm', '-n', 'team-a', '--store', etcd.url]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^WorkloadGroup team-a\/vm: every token issued up to now revoked/);
  for (const r of [r1, r2]) {
    const refused = await refusedWithin(r, other, 5000);
    assert.match(refused.details, /WorkloadGroup team-a\/vm revokes every token issued at or before \d{4}-\d\d-\d\dT/);
  }
  const again = await runCli(['workload', 'entry', 'revoke', '--token-file', file, '--store', etcd.url]);
  assert.equal(again.code, 0, again.stderr);
  const stored = await store.get({ kind: 'WorkloadGroup', namespace: 'team-a', name: 'vm' });
  const otherId = verifyToken(other, key, Math.floor(Date.now() / 1000));
  assert.ok(otherId.ok);
  assert.equal(stored?.metadata.annotations['meshbridge.io/revoked-tokens'], `${claims.claims.id},${otherId.claims.id}`, 'kept in the store, ids added');
  const missing = await runCli(['workload', 'entry', 'revoke', '--group', 'nope', '-n', 'team-a', '--store', etcd.url]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /WorkloadGroup team-a\/nope not found in etcd:\/\/.*: nothing revoked/);
});

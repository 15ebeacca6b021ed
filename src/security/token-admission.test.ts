import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../model/config/load.js';
import type { WorkloadGroup } from '../model/config/types.js';
import type { TokenClaims } from './registration-token.js';
import { certificateRenewalRefusal, tokenRefusal } from './token-admission.js';

function group(annotations: string, serviceAccount = 'sa-a'): WorkloadGroup {
  const text = `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: vm, namespace: team-a, annotations: {${annotations}}}
spec: {template: {serviceAccount: ${serviceAccount}}}
`;
  const loaded = loadConfig([{ path: 'g.yaml', text }]);
  const g = loaded.objects.find((o): o is WorkloadGroup => o.kind === 'WorkloadGroup');
  assert.ok(g, JSON.stringify(loaded.findings));
  return g;
}

const claims: TokenClaims = { namespace: 'team-a', group: 'vm', serviceAccount: 'sa-a', issuedAt: 1000, expiresAt: 2000, originalIssuedAt: 900, lifetime: 1000, id: '0123456789abcdef' };
const lookup = (g: WorkloadGroup | undefined) => (ns: string, name: string) => (g && g.metadata.namespace === ns && g.metadata.name === name ? g : undefined);

test('a token is admitted only while its group exists with its service account and does not revoke it', () => {
  assert.equal(tokenRefusal(claims, lookup(group(''))), undefined);
  assert.deepEqual(tokenRefusal(claims, lookup(undefined)), { code: 9, reason: 'WorkloadGroup team-a/vm does not exist (AR-1): the registration token is no longer usable' });
  assert.equal(tokenRefusal(claims, lookup(group('', 'sa-b')))?.code, 7);
  assert.equal(tokenRefusal(claims, lookup(group('"meshbridge.io/revoked-tokens": "fedcba9876543210,0123456789abcdef"')))?.code, 16);
  assert.equal(tokenRefusal(claims, lookup(group('"meshbridge.io/revoked-tokens": "fedcba9876543210"'))), undefined, 'another id');
  const at = (seconds: number) => `"meshbridge.io/tokens-revoked-before": "${new Date(seconds * 1000).toISOString()}"`;
  assert.equal(tokenRefusal(claims, lookup(group(at(900))))?.code, 16, 'issued at the cutoff: revoked');
  assert.equal(tokenRefusal(claims, lookup(group(at(899)))), undefined, 'the lineage began after the cutoff (its renewal time does not count)');
});

test('renewal by certificate stops for certificates issued before their group revoked its tokens; identities of no group are not affected', () => {
  const revoked = group(`"meshbridge.io/tokens-revoked-before": "${new Date(5000 * 1000).toISOString()}"`);
  const id = { namespace: 'team-a', serviceAccount: 'sa-a' };
  assert.equal(certificateRenewalRefusal(id, 5000 - 60, [revoked])?.code, 16, 'notBefore is backdated a minute: issued at the cutoff');
  assert.equal(certificateRenewalRefusal(id, 5001 - 60, [revoked]), undefined, 'issued after');
  assert.equal(certificateRenewalRefusal({ namespace: 'team-a', serviceAccount: 'pod-sa' }, 0, [revoked]), undefined);
  assert.equal(certificateRenewalRefusal(id, 0, [revoked, group('')]), undefined, 'another group with the identity and no revocation');
});

// Issue 11: what `workload entry revoke` revokes, from its arguments (the writes: test/store/token-revocation.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signToken } from '../security/registration-token.js';
import { UsageError } from './output.js';
import { revocationTarget } from './workload-entry-revoke.js';

const store = 'etcd://127.0.0.1:2379';

test('a token id needs its group; a whole token names its own; --group alone is every token of the group', () => {
  assert.deepEqual(revocationTarget({ token: '0123456789abcdef', group: 'vm', namespace: 'team-a', store }), { namespace: 'team-a', group: 'vm', id: '0123456789abcdef' });
  assert.throws(() => revocationTarget({ token: '0123456789abcdef', store }), (e: unknown) => e instanceof UsageError && /a token id names no group/.test(e.message));
  const token = signToken({ namespace: 'team-a', group: 'vm', serviceAccount: 'sa', issuedAt: 1, expiresAt: 2, id: 'fedcba9876543210' }, Buffer.alloc(32, 1));
  assert.deepEqual(revocationTarget({ token, store }), { namespace: 'team-a', group: 'vm', id: 'fedcba9876543210' });
  assert.throws(() => revocationTarget({ token, group: 'other', store }), (e: unknown) => e instanceof UsageError && /the token is of WorkloadGroup team-a\/vm, not team-a\/other/.test(e.message));
  assert.deepEqual(revocationTarget({ group: 'vm', store }), { namespace: 'default', group: 'vm' });
  assert.throws(() => revocationTarget({ store }), UsageError);
  assert.throws(() => revocationTarget({ token: 'not-a-token', store }), (e: unknown) => e instanceof UsageError && /neither a token id \(16 hex digits\) nor a registration token/.test(e.message));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFieldPath } from './problem.js';

test('formatFieldPath joins keys with dots and indexes with brackets', () => {
  assert.equal(formatFieldPath(['spec', 'ports', 0, 'name']), 'spec.ports[0].name');
  assert.equal(formatFieldPath(['spec', 'ports', 'http']), 'spec.ports.http');
  assert.equal(formatFieldPath([]), '');
});

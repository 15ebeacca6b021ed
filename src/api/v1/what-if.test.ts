// POST /api/v1/what-if (issue 18 what-if view): the request checked, and the result against the
// objects a registry holds now (test/fixtures/what-if/mesh.yaml).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { registryOf } from '../../../test/support/xds-generation.js';
import { PROJECT_ROOT } from '../../../test/support/paths.js';
import { WHAT_IF_LIMITS, whatIfView } from './what-if.js';

const FILE = join('test', 'fixtures', 'what-if', 'mesh.yaml');
const registry = registryOf([{ path: FILE, text: readFileSync(join(PROJECT_ROOT, FILE), 'utf8') }]);
const vs = readFileSync(join(PROJECT_ROOT, FILE), 'utf8').split('\n---\n').find((d) => d.includes('kind: VirtualService')) ?? '';

test('what-if API: a pasted VirtualService weight change answers 200 with exactly the routes that change', () => {
  const r = whatIfView(registry, { files: [{ path: 'pasted.yaml', text: vs.replace('weight: 80', 'weight: 70').replace('weight: 20', 'weight: 30') }], clients: { namespace: 'apps' } });
  assert.equal(r.status, 200);
  assert.ok(r.status === 200);
  assert.equal(r.body.changed, true);
  assert.deepEqual(
    r.body.clients.map((c) => [c.label, c.routes.map((x) => `${x.routeConfiguration} ${x.virtualHost} ${x.after?.map((s) => s.action).join('|') ?? ''}`)]),
    [
      ['envoy ns=apps', ['80 a.apps.test:80 weighted outbound|80|v1|a.apps.test=70, outbound|80|v2|a.apps.test=30']],
      ['grpc ns=apps', ['a.apps.test:80 a.apps.test:80 weighted outbound|80|v1|a.apps.test=70, outbound|80|v2|a.apps.test=30']],
    ],
  );
});

test('what-if API: an invalid file answers 200 with its positioned findings and nothing compared', () => {
  const r = whatIfView(registry, { files: [{ path: 'pasted.yaml', text: vs.replace('hosts: [a.apps.test]', 'hosts: 7') }] });
  assert.ok(r.status === 200);
  assert.equal(r.body.applicable, false);
  assert.deepEqual(r.body.clients, []);
  assert.deepEqual(r.body.errors.map((f) => [f.file, f.line, f.field]), [['pasted.yaml', 5, 'spec.hosts']]);
});

test('what-if API: a malformed request answers 400 naming what is wrong', () => {
  const error = (body: unknown): string => {
    const r = whatIfView(registry, body);
    assert.ok(r.status === 400, JSON.stringify(r.body).slice(0, 200));
    return r.body.error;
  };
  assert.match(error('text'), /body must be a JSON object/);
  assert.match(error({ files: [] }), /files must be a non-empty array/);
  assert.match(error({ files: [{ path: 'a.yaml' }] }), /files\[0\] must be \{path: string, text: string\}/);
  assert.match(error({ files: [{ path: 'a.yaml', text: vs }], clients: { kind: 'ztunnel' } }), /clients\.kind must be envoy or grpc/);
  assert.match(error({ files: [{ path: 'a.yaml', text: vs }], clients: { labels: { app: 1 } } }), /clients\.labels/);
  assert.match(error({ files: Array.from({ length: WHAT_IF_LIMITS.files + 1 }, () => ({ path: 'a.yaml', text: '' })) }), /at most 100 files/);
  assert.match(error({ files: [{ path: 'a.yaml', text: 'x'.repeat(WHAT_IF_LIMITS.chars + 1) }] }), /more than/);
});

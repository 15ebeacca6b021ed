/**
 * replaceInputs replaces the inputs with a complete snapshot (a listing or a resync): after any run
 * of changes, the collections must end up exactly as with a fresh split, whatever changed where.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigObject } from '../model/config/types.js';
import { buildRegistry, createInputs, replaceInputs } from './registry.js';

let order = 0;
function obj(kind: 'WorkloadEntry' | 'ServiceEntry' | 'DestinationRule', name: string, v = 0): ConfigObject {
  const origin = { file: 'f', line: 1, column: 1, order: order++ };
  const metadata = { name, namespace: 'ns', labels: { v: String(v) }, annotations: {} };
  if (kind === 'WorkloadEntry') return { kind, apiVersion: 'networking.istio.io/v1', metadata, spec: { address: '127.0.0.1', labels: { app: 'a' } }, origin };
  if (kind === 'ServiceEntry') return { kind, apiVersion: 'networking.istio.io/v1', metadata, spec: { hosts: [`${name}.example.com`], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', workloadSelector: { labels: { app: 'a' } } }, origin };
  return { kind, apiVersion: 'networking.istio.io/v1', metadata, spec: { host: `${name}.example.com` }, origin };
}

test('replaceInputs gives the same collections as a fresh split after any run of changes', () => {
  let a = 17;
  const rand = (): number => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a / 2147483648;
  };
  const kinds = ['WorkloadEntry', 'ServiceEntry', 'DestinationRule'] as const;
  const pick = (): (typeof kinds)[number] => kinds[Math.floor(rand() * 3)] ?? 'WorkloadEntry';
  const inputs = createInputs();
  buildRegistry(inputs);
  let objects: ConfigObject[] = Array.from({ length: 300 }, (_, i) => obj(pick(), `o${i}`));
  replaceInputs(inputs, objects);
  for (let round = 0; round < 300; round++) {
    const next = [...objects];
    const at = Math.floor(rand() * next.length);
    const n = Math.floor(rand() * 4);
    switch (round % 5) {
      case 0: // a few objects changed in place
        for (let k = 0; k < n + 1 && at + k < next.length; k++) next[at + k] = obj(next[at + k]?.kind as (typeof kinds)[number], next[at + k]?.metadata.name ?? 'x', round);
        break;
      case 1: // removed
        next.splice(at, n + 1);
        break;
      case 2: // added, of any kind
        next.splice(at, 0, ...Array.from({ length: n + 1 }, (_, k) => obj(pick(), `n${round}-${k}`)));
        break;
      case 3: // replaced by objects of other kinds
        next.splice(at, n, ...Array.from({ length: n + 1 }, (_, k) => obj(pick(), `m${round}-${k}`)));
        break;
      default: // unchanged, or many changes (the full split)
        if (round % 10 === 4) for (let k = 0; k < 80; k++) next[Math.floor(rand() * next.length)] = obj(pick(), `r${round}-${k}`);
    }
    replaceInputs(inputs, next);
    objects = next;
    const fresh = createInputs();
    replaceInputs(fresh, objects);
    for (const key of ['WorkloadEntry', 'ServiceEntry', 'DestinationRule'] as const) {
      const got = inputs[key].list() as ConfigObject[];
      const want = fresh[key].list() as ConfigObject[];
      assert.deepEqual(new Set(got), new Set(want), `round ${round}: ${key}`);
    }
  }
});

// The push history (issue 18, diffFromPrevious): per view the changes of the last push batch —
// endpoints by address, clusters and listeners by content, routes per virtual host — compared
// with the set before it; a proxy view moved to another class gets the difference of the classes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiListener, edsCluster, endpoints, routeTo } from '../../test/xds/fixtures/proxyless-resources.js';
import { ResourceCache } from '../xds/cache/resource-cache.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../xds/types/resource-types.js';
import { PushHistory } from './push-history.js';

const input = <M>(name: string, token: string, message: M) => new Map([[name, { version: token, message }]]);
const A = { host: '127.0.60.1', port: 80 };
const B = { host: '127.0.60.2', port: 80 };

function classWith(h: PushHistory, key: string, eps: readonly { host: string; port: number }[], cluster = 'c1') {
  h.setResources(key, CLUSTER, input(cluster, `${key}-c`, edsCluster(cluster, cluster)));
  h.setResources(key, ENDPOINT, input(cluster, `${key}-e${eps.length}`, endpoints(cluster, eps)));
  h.setResources(key, LISTENER, input('l1', `${key}-l`, apiListener('l1', 'r1')));
  h.setResources(key, ROUTE, input('r1', `${key}-r`, routeTo('r1', 'svc.test', cluster)));
}

test('the last push of a view: an endpoint added, nothing else; the first push adds everything', () => {
  const h = new PushHistory(new ResourceCache(), () => Date.parse('2026-12-07T01:00:00Z'));
  classWith(h, 'class-1', [A]);
  h.commit();
  const first = h.lastPush('class-1');
  assert.deepEqual([first?.clusters, first?.listeners], [[{ name: 'c1', change: 'added' }], [{ name: 'l1', change: 'added' }]]);
  assert.deepEqual(first?.routes.map((r) => [r.routeConfiguration, r.virtualHost, r.change, r.after]), [['r1', 'vh-r1', 'added', [{ match: 'prefix ""', action: 'cluster c1' }]]]);
  h.updateResources('class-1', ENDPOINT, input('c1', 'e2', endpoints('c1', [A, B])), []);
  h.alias('proxy-view', 'class-1');
  const second = h.lastPush('proxy-view'); // read before the pipeline's onPush: committed on read
  assert.ok(second);
  assert.deepEqual(second.endpoints, [{ cluster: 'c1', change: 'changed', endpoints: [{ address: '127.0.60.2:80', change: 'added', after: { locality: 'r1/z1', priority: 0, weight: 0, health: 'HEALTHY' } }], localityWeights: [] }]);
  assert.deepEqual([second.clusters, second.listeners, second.routes], [[], [], []]);
  assert.deepEqual(Object.keys(second.versions), ['EDS']);
  assert.equal(second.at, '2026-12-07T01:00:00.000Z');
});

test('a batch is compared with its start; an unchanged token is not a change; a removal is', () => {
  const h = new PushHistory(new ResourceCache());
  classWith(h, 'k', [A]);
  h.commit();
  h.updateResources('k', ENDPOINT, input('c1', 'x', endpoints('c1', [A, B])), []);
  h.updateResources('k', ENDPOINT, input('c1', 'y', endpoints('c1', [A])), []); // back to the start within the batch
  h.updateResources('k', CLUSTER, input('c1', 'k-c', edsCluster('c1', 'c1')), []); // same token
  h.updateResources('k', LISTENER, new Map(), ['l1']);
  h.commit();
  const p = h.lastPush('k');
  assert.deepEqual([p?.endpoints, p?.clusters, p?.listeners], [[], [], [{ name: 'l1', change: 'removed' }]]);
});

test('a proxy view moved to another class: the difference between the two classes', () => {
  const h = new PushHistory(new ResourceCache());
  classWith(h, 'class-a', [A]);
  classWith(h, 'class-b', [B], 'c1');
  h.commit();
  h.alias('proxy-view', 'class-a');
  h.alias('proxy-view', 'class-b');
  h.dropView('class-a');
  const moved = h.lastPush('proxy-view');
  assert.deepEqual(moved?.endpoints.map((e) => e.endpoints.map((x) => `${x.change} ${x.address}`)), [['removed 127.0.60.1:80', 'added 127.0.60.2:80']]);
  assert.deepEqual(moved?.clusters, [], 'same cluster contents, though generated for another class');
  assert.deepEqual(moved?.routes, []);
});

test('types read from a shared slot (aliasType): the slot\'s changes are the view\'s; a push to class and slot is one', () => {
  const cache = new ResourceCache();
  const h = new PushHistory(cache, () => Date.parse('2026-12-07T01:00:00Z'));
  assert.ok(h.aliasType, 'forwarded: the cache can alias types');
  const withoutTypeAliases = { setResources: cache.setResources.bind(cache), updateResources: cache.updateResources.bind(cache), alias: cache.alias.bind(cache), dropView: cache.dropView.bind(cache), current: cache.current.bind(cache) };
  assert.equal(new PushHistory(withoutTypeAliases).aliasType, undefined, 'absent when the cache lacks it');
  h.setResources('shared|r', ENDPOINT, input('c1', 'e1', endpoints('c1', [A])));
  h.setResources('class-1', CLUSTER, input('c1', 'c', edsCluster('c1', 'c1')));
  h.aliasType?.('class-1', ENDPOINT.typeUrl, 'shared|r');
  h.setResources('class-1', LISTENER, input('l1', 'l', apiListener('l1', 'r1')));
  h.alias('proxy-view', 'class-1');
  assert.equal(cache.current('proxy-view', ENDPOINT.typeUrl)?.resources.has('c1'), true, 'the cache resolves the alias');
  h.commit();
  const first = h.lastPush('proxy-view');
  assert.deepEqual(Object.keys(first?.versions ?? {}).sort(), ['CDS', 'EDS', 'LDS']);
  assert.deepEqual(first?.endpoints.map((e) => e.change), ['added']);
  // An endpoint change written once to the slot is the last push of every class reading it.
  h.updateResources('shared|r', ENDPOINT, input('c1', 'e2', endpoints('c1', [A, B])), []);
  h.commit();
  const second = h.lastPush('proxy-view');
  assert.deepEqual(Object.keys(second?.versions ?? {}), ['EDS']);
  assert.deepEqual(second?.endpoints.map((e) => e.endpoints.map((x) => `${x.change} ${x.address}`)), [['added 127.0.60.2:80']]);
  assert.deepEqual(second?.clusters, []);
  // A later change of the class alone: only its own types.
  h.updateResources('class-1', LISTENER, new Map(), ['l1']);
  h.commit();
  const third = h.lastPush('proxy-view');
  assert.deepEqual([Object.keys(third?.versions ?? {}), third?.endpoints, third?.listeners], [['LDS'], [], [{ name: 'l1', change: 'removed' }]]);
});

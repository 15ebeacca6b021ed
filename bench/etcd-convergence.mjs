#!/usr/bin/env node
// Benchmark scenario (issue 6): a change applied through etcd → proxies on every replica converged.
//
//   npm run bench:etcd -- [--members 1|3] [--replicas 2] [--proxies 10] [--entries 200] [--changes 50] [--debounce 100]
//
// Starts etcd (tmpfs, loopback), seeds one ServiceEntry selecting `--entries` WorkloadEntries,
// starts `--replicas` real `meshbridge serve --store etcd://...` processes and `--proxies`
// proxyless-gRPC EDS subscribers per replica, then applies `--changes` changes one at a time (each
// a new WorkloadEntry selected by the service, applied as `meshbridge apply` does: one etcd
// transaction). For each change it measures, from the moment the apply is issued:
//   - apply: until etcd acknowledged it;
//   - proxy: until each proxy received an EDS response with the new endpoint (every proxy, every change);
//   - all:   until the last proxy on the last replica had it (the change has converged everywhere).
// and prints p50/p99 of each. JSON goes to bench/results/ (git-ignored). A standalone script (this
// branch has no bench/ harness yet); it uses the compiled modules in dist/ (`npm install` builds them).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { startEtcd } = await import(dist('test/support/etcd.js'));
const { startReplica } = await import(dist('test/support/serve-replica.js'));
const { EdsWatcher } = await import(dist('test/support/xds-watchers.js'));
const { applyObjects } = await import(dist('src/app/apply-objects.js'));
const { createEtcdClient } = await import(dist('src/sources/etcd/etcd-client.js'));
const { EtcdStore } = await import(dist('src/sources/etcd/etcd-store.js'));
const { RetryingStore } = await import(dist('src/sources/etcd/retrying-store.js'));
const { loadConfig } = await import(dist('src/model/config/load.js'));

function args(argv) {
  const o = { members: 1, replicas: 2, proxies: 10, entries: 200, changes: 50, debounce: 100 };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (!m || !(m[1] in o)) throw new Error(`unknown argument ${argv[i]}; see the header of bench/etcd-convergence.mjs`);
    o[m[1]] = Number(m[2] ?? argv[++i]);
  }
  return o;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (x) => `${x.toFixed(1)} ms`;
const address = (i) => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;

function objects(yaml) {
  const r = loadConfig([{ path: 'bench.yaml', text: yaml }]);
  const errors = r.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return r.objects;
}

function entry(i) {
  return objects(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-${i}, namespace: bench, labels: {app: bench}}
spec: {address: ${address(i)}, ports: {http: 8080}}
`)[0];
}

async function until(cond, timeoutMs, what) {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(2);
  }
}

async function main() {
  const o = args(process.argv.slice(2));
  const cluster = 'outbound|80||bench.example.com';
  const etcd = await startEtcd(o.members);
  const client = new RetryingStore(new EtcdStore(createEtcdClient({ endpoints: etcd.endpoints }), { description: etcd.url }));
  const replicas = [];
  const watchers = [];
  try {
    const seed = [
      ...objects(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: bench, namespace: bench}
spec: {hosts: [bench.example.com], location: MESH_INTERNAL, resolution: STATIC, ports: [{number: 80, name: http, protocol: HTTP}], workloadSelector: {labels: {app: bench}}}
`),
      ...Array.from({ length: o.entries }, (_v, i) => entry(i)),
    ];
    for (let i = 0; i < seed.length; i += 100) {
      const r = await applyObjects(client, seed.slice(i, i + 100));
      if (!r.ok) throw new Error(r.failure.message);
    }
    for (let r = 0; r < o.replicas; r++) replicas.push(await startReplica(etcd.url, `bench-${r + 1}`, ['--debounce', String(o.debounce)]));
    for (const [r, rep] of replicas.entries()) {
      for (let p = 0; p < o.proxies; p++) watchers.push(new EdsWatcher(rep.xds, cluster, 'bench', `127.2.${r}.${p + 1}`));
    }
    await until(() => watchers.every((w) => w.latest().length === o.entries), 30_000, 'initial convergence');

    const apply = [];
    const proxy = [];
    const all = [];
    for (let c = 0; c < o.changes; c++) {
      const i = o.entries + c;
      const want = `${address(i)}:8080`;
      const seen = watchers.map((w) => w.updates.length);
      const t0 = performance.now();
      const r = await applyObjects(client, [entry(i)]);
      if (!r.ok) throw new Error(r.failure.message);
      apply.push(performance.now() - t0);
      await until(() => watchers.every((w) => w.latest().includes(want)), 30_000, `change ${c}`);
      const times = watchers.map((w, k) => (w.updates.slice(seen[k]).find((u) => u.endpoints.includes(want))?.at ?? NaN) - t0);
      proxy.push(...times);
      all.push(Math.max(...times));
    }
    const result = {
      scenario: 'etcd-convergence',
      date: new Date().toISOString(),
      machine: `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, Node ${process.version}`,
      params: o,
      applyMs: { p50: pct(apply, 50), p99: pct(apply, 99) },
      proxyMs: { p50: pct(proxy, 50), p99: pct(proxy, 99), samples: proxy.length },
      allReplicasMs: { p50: pct(all, 50), p99: pct(all, 99), samples: all.length },
    };
    const dir = join(root, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `etcd-convergence-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`etcd ${o.members} member(s), ${o.replicas} replicas × ${o.proxies} proxies, ${o.entries} entries, ${o.changes} changes, debounce ${o.debounce} ms`);
    console.log(`apply acknowledged:            p50 ${ms(result.applyMs.p50)}  p99 ${ms(result.applyMs.p99)}`);
    console.log(`each proxy converged:          p50 ${ms(result.proxyMs.p50)}  p99 ${ms(result.proxyMs.p99)}`);
    console.log(`all proxies, all replicas:     p50 ${ms(result.allReplicasMs.p50)}  p99 ${ms(result.allReplicasMs.p99)}`);
    console.log(`| ${o.members} | ${o.replicas} | ${o.proxies} | ${o.entries} | ${o.changes} | ${o.debounce} | ${ms(result.applyMs.p50)} / ${ms(result.applyMs.p99)} | ${ms(result.proxyMs.p50)} / ${ms(result.proxyMs.p99)} | ${ms(result.allReplicasMs.p50)} / ${ms(result.allReplicasMs.p99)} |`);
    console.log(`(${file})`);
  } finally {
    for (const w of watchers) w.close();
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
    await client.close();
    await etcd.stop();
  }
}

await main();

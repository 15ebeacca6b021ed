/**
 * `node --expose-gc dist/bench/sidecar-heap.js [--dist OTHER/dist]`: the pipeline's and resource
 * cache's heap per Envoy sidecar class, measured in one process (no server, no streams), so that it
 * does not depend on the machine's load. S6's mesh (1,000 services, 2,000 WorkloadEntries), N
 * sidecars each on its own workload (a class each, one relevance class): heap used after GC at 200
 * and 600 sidecars, CPU to generate the 400 between, and CPU of one endpoint change pushed to all
 * 600. `--dist` loads another build's modules (a baseline), to compare alternating.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type * as MeshSupport from '../test/support/mesh.js';
import type * as ProxySupport from '../test/support/proxy-identity.js';
import type * as RegistryModule from '../src/registry/registry.js';
import type * as CacheModule from '../src/xds/cache/resource-cache.js';
import type * as PipelineModule from '../src/xds/generate/pipeline.js';
import type * as EnvoyModule from '../src/xds/generate/envoy/index.js';
import type * as TypesModule from '../src/xds/types/resource-types.js';

const SERVICES = 1000;
const WORKLOADS = 2000;

const distArg = process.argv.indexOf('--dist');
const root = resolve(distArg >= 0 ? (process.argv[distArg + 1] ?? 'dist') : new URL('..', import.meta.url).pathname);
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(resolve(root, path)).href)) as T;

const { objectsFrom } = await load<typeof MeshSupport>('test/support/mesh.js');
const { testProxy } = await load<typeof ProxySupport>('test/support/proxy-identity.js');
const { buildRegistry, createInputs, replaceInputs } = await load<typeof RegistryModule>('src/registry/registry.js');
const { ResourceCache } = await load<typeof CacheModule>('src/xds/cache/resource-cache.js');
const { XdsPipeline } = await load<typeof PipelineModule>('src/xds/generate/pipeline.js');
const { envoyGenerator } = await load<typeof EnvoyModule>('src/xds/generate/envoy/index.js');
const { CLUSTER, ENDPOINT, LISTENER, ROUTE } = await load<typeof TypesModule>('src/xds/types/resource-types.js');

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const runGc = gc;

/** Loopback addresses, distinct per workload (never dialled: nothing is served). */
const address = (i: number): string => `127.${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const serviceDoc = (s: number): string =>
  `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: s${s}, namespace: a }\nspec: { hosts: [s${s}.a.svc], location: MESH_INTERNAL, ports: [{ number: 80, name: http, protocol: HTTP }], resolution: STATIC, workloadSelector: { labels: { app: s${s} } } }`;
const workloadDoc = (w: number, weight: number): string =>
  `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: { name: w${w}, namespace: a }\nspec: { address: ${address(w + 1)}, weight: ${weight}, labels: { app: s${w % SERVICES} } }`;

const services = Array.from({ length: SERVICES }, (_, s) => serviceDoc(s));
const mesh = (changedWeight: number): string[] => [...services, ...Array.from({ length: WORKLOADS }, (_, w) => workloadDoc(w, w === 0 ? changedWeight : 1))];

const inputs = createInputs();
const registry = buildRegistry(inputs);
replaceInputs(inputs, objectsFrom(...mesh(1)));
const cache = new ResourceCache();
const pipeline = new XdsPipeline({ registry, cache, generators: { envoy: envoyGenerator }, debounceMs: 60_000 });
pipeline.start();

const heapMb = (): number => {
  runGc();
  runGc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};
let connected = 0;
/** Brings the sidecars up to `n` and reads each type once, as a stream's first requests do. */
const connect = (n: number): number => {
  const started = process.cpuUsage();
  for (; connected < n; connected++) {
    const view = pipeline.viewOf(testProxy({ type: 'sidecar', ip: address(connected + 1), name: `w${connected}`, namespace: 'a', labels: { app: `s${connected % SERVICES}` } }));
    for (const type of [CLUSTER, ENDPOINT, LISTENER, ROUTE]) cache.current(view, type.typeUrl);
  }
  return cpuSeconds(started);
};

connect(200);
const at200 = heapMb();
const connectSeconds = connect(600);
const at600 = heapMb();
replaceInputs(inputs, objectsFrom(...mesh(3)));
const pushStarted = process.cpuUsage();
await pipeline.flush();
const pushMs = cpuSeconds(pushStarted) * 1000;
await pipeline.stop();
console.log(
  `${root}: heap ${at200.toFixed(1)} MB at 200 sidecars, ${at600.toFixed(1)} MB at 600: ${((at600 - at200) / 400).toFixed(3)} MB per sidecar; ` +
    `400 sidecars generated in ${connectSeconds.toFixed(2)} CPU s; one endpoint change to 600 sidecars ${pushMs.toFixed(0)} ms CPU`,
);

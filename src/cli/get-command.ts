/**
 * `meshbridge get KIND[,KIND...] [NAME] [-n NS | -A] [-l SELECTOR] [-o text|wide|yaml|json|name] [-w] [--store URL]`
 * (cli-contract), with kubectl's conventions:
 * - JSON and YAML are a Kubernetes-style `List` of complete items (metadata with resourceVersion,
 *   creationTimestamp, labels, annotations; status), also for one NAME (the contract fixes it);
 * - `-o name` prints `kind.group/name` per object; `-l` takes kubectl's label selectors;
 * - an empty result is `No resources found in NS namespace.` on stderr, exit 0;
 * - text columns: Istio's CRD printer columns (ServiceEntry HOSTS, LOCATION, RESOLUTION, AGE; ...);
 *   WorkloadEntry keeps the contract's NAME, ADDRESS, GROUP, CONNECTED, HEALTHY, AGE; `wide` adds
 *   meshbridge's columns. AGE of an object from a config folder (no creationTimestamp) is the age of
 *   its file;
 * - `-w` prints the list, then a row per change until interrupted.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandContext } from './command-context.js';
import { storeUrlOrDefault } from '../sources/store-url.js';
import { etcdSecurityFlags, STORE_HELP, STORE_OPTION, withEtcdSecurityOptions, withKubeStoreOptions, type EtcdFlags } from './store-options.js';
import { toDocument } from '../model/config/document.js';
import { kindFromName, qualifiedKind } from '../model/config/kind-names.js';
import { StoreUnavailableError, type StoreEvent } from '../model/config/store.js';
import type { ConfigObject, WorkloadEntry } from '../model/config/types.js';
import { matchesSelector, parseSelector } from './label-selector.js';
import { printData, table, UsageError } from './output.js';
import type { EtcdSecurityFlags } from '../sources/etcd/etcd-url.js';
import { openCliStore, StoreUnreachable } from './store-client.js';

export interface GetOptions {
  readonly kind: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly allNamespaces: boolean;
  readonly output: string;
  readonly store: string;
  /** `--etcd-*` flags for an etcd store. */
  readonly etcd?: EtcdSecurityFlags;
  readonly stateDir?: string;
  /** kubectl `-l`: `k=v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-separated. */
  readonly selector?: string;
  /** kubectl `-w`: keep printing changes (until `signal` aborts). */
  readonly watch?: boolean;
  readonly signal?: AbortSignal;
}

const OUTPUTS = ['text', 'wide', 'json', 'yaml', 'name'];

export async function runGet(o: GetOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const kinds = o.kind.split(',').filter((k) => k !== '').map((k) => {
    const kind = kindFromName(k);
    if (!kind) throw new UsageError(`unknown kind ${JSON.stringify(k)}`);
    return kind;
  });
  if (kinds.length === 0) throw new UsageError('get needs a KIND');
  if (!OUTPUTS.includes(o.output)) throw new UsageError(`unknown output format ${JSON.stringify(o.output)}: use one of ${OUTPUTS.join(', ')}`);
  if (o.name !== undefined && kinds.length > 1) throw new UsageError('a NAME goes with one KIND: get KIND NAME');
  const selector = o.selector !== undefined ? parseSelector(o.selector) : undefined;
  const namespace = o.namespace ?? 'default';
  const s = await openCliStore(o.store, o.stateDir, o.etcd, o.watch === true);
  try {
    let listing;
    try {
      listing = await s.store.list();
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw new StoreUnreachable(e.message);
      throw e;
    }
    const wanted = (x: ConfigObject): boolean =>
      kinds.includes(x.kind) &&
      (o.allNamespaces || x.metadata.namespace === '' || x.metadata.namespace === namespace) &&
      (o.name === undefined || x.metadata.name === o.name) &&
      (selector === undefined || matchesSelector(selector, x.metadata.labels));
    // Kinds in the order asked (kubectl), then namespace and name.
    const items = listing.objects.filter(wanted).sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind) || byNamespaceAndName(a, b));
    if (o.name !== undefined && items.length === 0) {
      err.write(`meshbridge: ${kinds[0] ?? ''} ${o.name} not found in namespace ${namespace}\n`);
      return 1;
    }
    const ages = await agesOf(items);
    if (o.output === 'json' || o.output === 'yaml') {
      // Always a List, also for one NAME: the CLI contract fixes it (kubectl would print the object).
      printData({ apiVersion: 'v1', kind: 'List', items: items.map(item) }, o.output, out);
    } else if (o.output === 'name') {
      for (const x of items) out.write(`${objectName(x)}\n`);
    } else if (items.length === 0) {
      err.write(o.allNamespaces ? 'No resources found\n' : `No resources found in ${namespace} namespace.\n`);
    } else {
      const sections = kinds.filter((k) => items.some((x) => x.kind === k));
      const blocks = sections.map((k) => table(rowsFor(items.filter((x) => x.kind === k), { allNamespaces: o.allNamespaces, wide: o.output === 'wide', qualified: kinds.length > 1, ages })));
      out.write(`${blocks.join('\n\n')}\n`);
    }
    if (o.watch === true) await watchChanges(s.store, listing.revision, wanted, o, out);
    return 0;
  } finally {
    await s.close();
  }
}

function byNamespaceAndName(a: ConfigObject, b: ConfigObject): number {
  return a.kind.localeCompare(b.kind) || a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name);
}

/** `workloadentry.networking.istio.io/vm1`, as `kubectl get -o name` prints it. */
function objectName(x: ConfigObject): string {
  return `${qualifiedKind(x.kind, x.apiVersion)}/${x.metadata.name}`;
}

/**
 * `-w`: a row (no header) for every change of a wanted object after `revision`, until the signal
 * aborts (Ctrl-C). A deleted object prints its last known row.
 */
async function watchChanges(
  store: { watch(from: string, listener: (e: StoreEvent) => void): { close(): Promise<void> } },
  revision: string,
  wanted: (x: ConfigObject) => boolean,
  o: GetOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  const known = new Map<string, ConfigObject>();
  const print = async (x: ConfigObject): Promise<void> => {
    if (o.output === 'name') out.write(`${objectName(x)}\n`);
    else if (o.output === 'json' || o.output === 'yaml') printData(item(x), o.output, out);
    else {
      const rows = rowsFor([x], { allNamespaces: o.allNamespaces, wide: o.output === 'wide', qualified: false, ages: await agesOf([x]) });
      out.write(`${table(rows).split('\n').slice(1).join('\n')}\n`);
    }
  };
  let chain = Promise.resolve();
  const watch = store.watch(revision, (e) => {
    const changed: ConfigObject[] = [];
    if (e.type === 'changes') {
      for (const c of e.changes) {
        if (c.type === 'put') {
          known.set(`${c.object.kind}/${c.object.metadata.namespace}/${c.object.metadata.name}`, c.object);
          if (wanted(c.object)) changed.push(c.object);
        } else {
          const last = known.get(c.key);
          known.delete(c.key);
          if (last !== undefined && wanted(last)) changed.push(last);
        }
      }
    } else if (e.type === 'resync') {
      for (const x of e.objects) known.set(`${x.kind}/${x.metadata.namespace}/${x.metadata.name}`, x);
    }
    chain = chain.then(async () => {
      for (const x of changed) await print(x);
    });
  });
  await new Promise<void>((resolve) => {
    if (o.signal?.aborted === true) resolve();
    o.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await watch.close();
  await chain;
}

/** A complete item: labels and annotations always present (empty maps included). */
function item(x: ConfigObject): unknown {
  const doc = toDocument(x);
  const metadata = doc['metadata'] as Record<string, unknown>;
  return { ...doc, metadata: { ...metadata, labels: x.metadata.labels, annotations: x.metadata.annotations } };
}

/**
 * When each object was made: its creationTimestamp, else (an object of a config folder) the
 * modification time of its file. Objects with neither are absent from the map.
 */
async function agesOf(items: readonly ConfigObject[]): Promise<Map<ConfigObject, number>> {
  const out = new Map<ConfigObject, number>();
  const mtimes = new Map<string, Promise<number | undefined>>();
  for (const x of items) {
    const ts = x.metadata.creationTimestamp;
    if (ts !== undefined && !Number.isNaN(Date.parse(ts))) {
      out.set(x, Date.parse(ts));
      continue;
    }
    const file = x.origin.file;
    if (file === '') continue;
    let m = mtimes.get(file);
    if (m === undefined) mtimes.set(file, (m = stat(file).then((st) => st.mtimeMs, () => undefined)));
    const at = await m;
    if (at !== undefined) out.set(x, at);
  }
  return out;
}

/** kubectl's age: `45s`, `12m`, `5h`, `3d`. */
export function formatAge(since: number | undefined, now = Date.now()): string {
  if (since === undefined) return '<unknown>';
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function condition(e: WorkloadEntry, type: string): string {
  const c = (e.status?.conditions ?? []).find((x) => x.type === type);
  return c ? String(c.status) : '-';
}

const listOf = (xs: readonly string[] | undefined): string => (xs !== undefined && xs.length > 0 ? `[${xs.join(',')}]` : '-');

/**
 * Columns after NAME and their values, per kind: Istio's CRD `additionalPrinterColumns` (AGE where
 * Istio puts it), and what `wide` adds.
 */
function columnsOf(x: ConfigObject, age: string): { readonly head: readonly string[]; readonly cells: readonly string[]; readonly wideHead: readonly string[]; readonly wideCells: readonly string[] } {
  switch (x.kind) {
    case 'WorkloadEntry':
      // cli-contract: NAME, ADDRESS, GROUP, CONNECTED, HEALTHY, AGE.
      return {
        head: ['ADDRESS', 'GROUP', 'CONNECTED', 'HEALTHY', 'AGE'],
        cells: [x.spec.address ?? '', x.metadata.annotations['istio.io/autoRegistrationGroup'] ?? '-', condition(x, 'Connected'), condition(x, 'Healthy'), age],
        wideHead: ['NETWORK', 'LOCALITY', 'CONTROLLER'],
        wideCells: [x.spec.network || '-', x.spec.locality || '-', x.metadata.annotations['istio.io/workloadController'] ?? '-'],
      };
    case 'ServiceEntry':
      return {
        head: ['HOSTS', 'LOCATION', 'RESOLUTION', 'AGE'],
        cells: [listOf(x.spec.hosts), x.spec.location ?? '', x.spec.resolution ?? '', age],
        wideHead: ['ADDRESSES', 'PORTS'],
        wideCells: [listOf([...(x.spec.addresses ?? []), ...(x.status?.addresses ?? []).map((a) => a.value)]), listOf((x.spec.ports ?? []).map((p) => `${p.number}/${p.name}`))],
      };
    case 'DestinationRule':
      return { head: ['HOST', 'AGE'], cells: [x.spec.host, age], wideHead: [], wideCells: [] };
    case 'VirtualService':
      return { head: ['GATEWAYS', 'HOSTS', 'AGE'], cells: [listOf(x.spec.gateways), listOf(x.spec.hosts), age], wideHead: [], wideCells: [] };
    case 'PeerAuthentication':
      return { head: ['MODE', 'AGE'], cells: [x.spec.mtls?.mode ?? '', age], wideHead: [], wideCells: [] };
    case 'AuthorizationPolicy':
      return { head: ['ACTION', 'AGE'], cells: [x.spec.action ?? 'ALLOW', age], wideHead: [], wideCells: [] };
    default:
      return { head: ['AGE'], cells: [age], wideHead: [], wideCells: [] };
  }
}

interface RowOptions {
  readonly allNamespaces: boolean;
  readonly wide: boolean;
  /** Several kinds: names as `kind.group/name`, as kubectl prints them then. */
  readonly qualified: boolean;
  readonly ages: ReadonlyMap<ConfigObject, number>;
}

function rowsFor(items: readonly ConfigObject[], o: RowOptions): string[][] {
  const rows: string[][] = [];
  for (const x of items) {
    const c = columnsOf(x, formatAge(o.ages.get(x)));
    if (rows.length === 0) rows.push([...(o.allNamespaces ? ['NAMESPACE'] : []), 'NAME', ...c.head, ...(o.wide ? c.wideHead : [])]);
    rows.push([...(o.allNamespaces ? [x.metadata.namespace] : []), o.qualified ? objectName(x) : x.metadata.name, ...c.cells, ...(o.wide ? c.wideCells : [])]);
  }
  return rows;
}

export function registerGet(program: Command, ctx: CommandContext): void {
  const get = program
    .command('get')
    .description('list objects of a kind from the store')
    .argument('<kind>', "kind: Istio's names, plural and short forms (we, se, wg, ...); several separated by commas (we,se)")
    .argument('[name]', 'only this object (with one kind)')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'every namespace', false)
    .option('-o, --output <format>', 'text, wide, yaml, json or name', 'text')
    .option(STORE_OPTION, STORE_HELP)
    .option('--state-dir <dir>', "file store: the control plane's state directory (default: <store folder>.state)")
    .option('-l, --selector <selector>', 'only objects whose labels match (k=v, k!=v, k, !k, k in (a,b), k notin (a,b); comma-separated)')
    .option('-w, --watch', 'after listing, print each change until interrupted', false);
  withKubeStoreOptions(withEtcdSecurityOptions(get)).action(async (kind: string, name: string | undefined, opts: { namespace: string; allNamespaces: boolean; output: string; store?: string; stateDir?: string; selector?: string; watch: boolean } & EtcdFlags) => {
    ctx.setExitCode(
      await runGet(
        {
          kind,
          ...(opts.selector !== undefined ? { selector: opts.selector } : {}),
          ...(opts.watch ? { watch: true, signal: interrupted() } : {}),
          ...(name !== undefined ? { name } : {}),
          namespace: opts.namespace,
          allNamespaces: opts.allNamespaces,
          output: opts.output,
          store: storeUrlOrDefault(opts.store),
          etcd: etcdSecurityFlags(opts),
          ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
        },
        ctx.out,
        ctx.err,
      ),
    );
  });
}

/** Aborts on the first SIGINT or SIGTERM (`get -w` ends cleanly, exit 0). */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

/**
 * A real control-plane side for agent tests: `XdsServer` (grpc-js) over a `ResourceCache`, recording
 * its stream events and the call metadata it admits; and bootstrap folders as
 * `workload entry configure` writes them. Every wait is bounded.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.js';
import { create, toBinary, type JsonObject } from '@bufbuild/protobuf';
import { Client, credentials, Metadata, type ServiceDefinition, type StatusObject, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import type { AgentSettings } from '../../src/agent/bootstrap.js';
import { signToken } from '../../src/security/registration-token.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import type { Admission } from '../../src/xds/server/ads-stream.js';
import type { XdsEvent } from '../../src/xds/server/events.js';
import type { ProxyIdentity } from '../../src/model/mesh/proxy-identity.js';
import { XdsServer } from '../../src/xds/server/xds-server.js';

export const KEY = Buffer.alloc(32, 7);

export interface TestControlPlane {
  readonly address: string;
  readonly events: XdsEvent[];
  readonly admitted: { proxy: ProxyIdentity; metadata: Readonly<Record<string, string>> }[];
  /** Resolves with the first event (from index `from`) matching `pred`; rejects after `timeoutMs`. */
  waitFor<E extends XdsEvent['event']>(event: E, pred?: (e: Extract<XdsEvent, { event: E }>) => boolean, timeoutMs?: number, from?: number): Promise<Extract<XdsEvent, { event: E }>>;
  count(event: XdsEvent['event'], pred?: (e: XdsEvent) => boolean): number;
  stop(graceMs?: number): Promise<void>;
}

export interface ControlPlaneOptions {
  readonly address?: string;
  readonly admit?: (proxy: ProxyIdentity, metadata: Readonly<Record<string, string>>) => Admission;
  readonly extraServices?: readonly { readonly definition: ServiceDefinition; readonly implementation: UntypedServiceImplementation }[];
  readonly cache?: ResourceCache;
}

export async function startControlPlane(o: ControlPlaneOptions = {}): Promise<TestControlPlane> {
  const events: XdsEvent[] = [];
  const admitted: TestControlPlane['admitted'] = [];
  const waiters = new Set<() => void>();
  const server = new XdsServer({
    source: o.cache ?? new ResourceCache(),
    admit: (proxy, metadata) => {
      admitted.push({ proxy, metadata });
      return o.admit?.(proxy, metadata) ?? { ok: true };
    },
    ...(o.extraServices !== undefined ? { extraServices: o.extraServices } : {}),
  });
  server.onEvent((e) => {
    events.push(e);
    for (const w of [...waiters]) w();
  });
  const bound = await server.start(o.address ?? '127.0.0.1:0');
  const find = <E extends XdsEvent['event']>(event: E, pred: (e: Extract<XdsEvent, { event: E }>) => boolean, from: number) =>
    events.slice(from).find((e): e is Extract<XdsEvent, { event: E }> => e.event === event && pred(e as Extract<XdsEvent, { event: E }>));
  return {
    address: bound.address,
    events,
    admitted,
    waitFor(event, pred = () => true, timeoutMs = 5000, from = 0) {
      const hit = find(event, pred, from);
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const e = find(event, pred, from);
          if (e === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(e);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${event} event within ${timeoutMs} ms; events: ${events.map((e) => e.event).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    count: (event, pred = () => true) => events.filter((e) => e.event === event && pred(e)).length,
    stop: (graceMs = 1000) => server.stop(graceMs),
  };
}

export function settingsFor(controlPlane: string, over: Partial<AgentSettings> = {}): AgentSettings {
  return {
    controlPlane,
    namespace: 'vm-demo',
    group: 'svc1-vm',
    serviceAccount: 'svc1-vm',
    network: '',
    locality: 'us-east/zone-a/rack-1',
    labels: { app: 'svc1', class: 'vm' },
    ports: { http: 80 },
    trustDomain: 'cluster.local',
    clusterId: 'Kubernetes',
    ...over,
  };
}

export function tokenFor(s: AgentSettings, issuedAt: number, expiresAt: number): string {
  return signToken({ namespace: s.namespace, group: s.group, serviceAccount: s.serviceAccount, issuedAt, expiresAt }, KEY);
}

/** A bootstrap folder with settings and a token valid for an hour (issued now). */
export function bootstrapDir(s: AgentSettings, token = tokenFor(s, Math.floor(Date.now() / 1000), Math.floor(Date.now() / 1000) + 3600)): { dir: string; token: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mb-agent-'));
  writeFileSync(join(dir, 'meshbridge-agent.json'), JSON.stringify(s, null, 2));
  writeFileSync(join(dir, 'registration-token'), `${token}\n`, { mode: 0o600 });
  return { dir, token };
}

/** A log sink that can wait for a line. */
export class LogLines {
  readonly lines: string[] = [];
  readonly #waiters = new Set<() => void>();

  readonly log = (line: string): void => {
    this.lines.push(line);
    for (const w of [...this.#waiters]) w();
  };

  waitFor(re: RegExp, timeoutMs = 5000, from = 0): Promise<string> {
    const find = (): string | undefined => this.lines.slice(from).find((l) => re.test(l));
    const hit = find();
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const l = find();
        if (l === undefined) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(l);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no log line matching ${String(re)} within ${timeoutMs} ms; lines: ${JSON.stringify(this.lines)}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

/** A test control plane and an agent's bootstrap folder (settings, a token) for one test; both go at its end. */
export async function agentFixture(t: { after(fn: () => Promise<void> | void): void }): Promise<{ cp: TestControlPlane; settings: AgentSettings; dir: string; token: string }> {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const settings = settingsFor(cp.address);
  const { dir, token } = bootstrapDir(settings);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { cp, settings, dir, token };
}

/** Runs `agent` until the end of the test; resolves when its local services listen. */
export async function runUntilEnd(t: { after(fn: () => Promise<void> | void): void }, agent: Agent): Promise<void> {
  const stop = new AbortController();
  const running = agent.start(stop.signal);
  t.after(async () => {
    stop.abort();
    await running;
  });
  await agent.ready;
}

export type AdsMethodName = 'StreamAggregatedResources' | 'DeltaAggregatedResources';

/** One raw ADS stream to `address` whose first request carries `node`; resolves with its final status. */
export function oneStream(address: string, method: AdsMethodName, node: { id: string; metadata: JsonObject }): { status: Promise<StatusObject>; close(): void } {
  const client = new Client(address, credentials.createInsecure());
  const id = (b: Buffer): Buffer => b;
  const call = client.makeBidiStreamRequest(`/envoy.service.discovery.v3.AggregatedDiscoveryService/${method}`, id, id, new Metadata());
  call.on('data', () => undefined);
  call.on('error', () => undefined);
  const typeUrl = 'type.googleapis.com/envoy.config.listener.v3.Listener';
  const first =
    method === 'DeltaAggregatedResources'
      ? toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, { node, typeUrl, resourceNamesSubscribe: ['x'] }))
      : toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, { node, typeUrl, resourceNames: ['x'] }));
  call.write(Buffer.from(first));
  return {
    status: new Promise<StatusObject>((resolve) => call.on('status', resolve)),
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

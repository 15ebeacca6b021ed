/**
 * The bootstrap folder the agent runs from (agent-protocol.md §1): `meshbridge-agent.json` (the
 * settings below), `registration-token` (secret, 0600), plus Istio-style `cluster.env` and
 * `mesh.yaml` for operators. Also the agent's identity: names (AR-2) and node ids (§3).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../lib/fs/modes.js';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ReadinessProbe } from '../model/config/types.js';
import { errorMessage } from '../lib/errors.js';
import { parseControlPlane } from './control-plane-targets.js';

export const SETTINGS_FILE = 'meshbridge-agent.json';
export const TOKEN_FILE = 'registration-token';
export const GRPC_BOOTSTRAP_FILE = 'grpc-bootstrap.json';
/** The sidecar Envoy's bootstrap (envoy-bootstrap.ts), written by the agent and by `workload entry configure --ip`. */
export const ENVOY_BOOTSTRAP_FILE = 'envoy-bootstrap.yaml';
/** The xDS proxy's local secret (xds-proxy.ts), kept across agent restarts: apps read their bootstrap once. */
export const LOCAL_SECRET_FILE = 'local-xds-secret';

/** `meshbridge-agent.json` (agent-protocol.md §1). */
export interface AgentSettings {
  /**
   * `host:port` of the control plane's xDS port, or a comma-separated list of them (replicas; a
   * host may be a DNS name with several addresses): control-plane-targets.ts.
   */
  readonly controlPlane: string;
  readonly namespace: string;
  readonly group: string;
  readonly serviceAccount: string;
  readonly network: string;
  /** `region/zone/subzone` or ''. */
  readonly locality: string;
  /** The group template's labels overridden by `spec.metadata.labels` (AR-3). */
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: Readonly<Record<string, number>>;
  /** The group's `spec.probe`; absent = no health reports (H-1). */
  readonly probe?: ReadinessProbe;
  readonly trustDomain: string;
  readonly clusterId: string;
}

export class BootstrapError extends Error {}

/** Reads and checks `DIR/meshbridge-agent.json`; throws BootstrapError with one sentence. */
export function readSettings(dir: string): AgentSettings {
  const file = join(dir, SETTINGS_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BootstrapError(`cannot read ${file}: ${describe(e)}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new BootstrapError(`${file} must hold a JSON object`);
  const o = raw as Record<string, unknown>;
  const str = (k: string, required = false): string => {
    const v = o[k] ?? '';
    if (typeof v !== 'string' || (required && v === '')) throw new BootstrapError(`${file}: "${k}" must be ${required ? 'a non-empty' : 'a'} string`);
    return v;
  };
  const map = <T>(k: string, type: 'string' | 'number'): Record<string, T> => {
    const v = o[k] ?? {};
    if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== type)) {
      throw new BootstrapError(`${file}: "${k}" must be an object of ${type}s`);
    }
    return v as Record<string, T>;
  };
  const probe = o['probe'];
  if (probe !== undefined && (probe === null || typeof probe !== 'object' || Array.isArray(probe))) throw new BootstrapError(`${file}: "probe" must be an object`);
  const controlPlane = str('controlPlane', true);
  const controlPlaneProblem = parseControlPlane(controlPlane);
  if (typeof controlPlaneProblem === 'string') throw new BootstrapError(`${file}: "controlPlane" ${controlPlaneProblem}`);
  return {
    controlPlane,
    namespace: str('namespace', true),
    group: str('group', true),
    serviceAccount: str('serviceAccount'),
    network: str('network'),
    locality: str('locality'),
    labels: map<string>('labels', 'string'),
    ports: map<number>('ports', 'number'),
    ...(probe !== undefined ? { probe } : {}),
    trustDomain: str('trustDomain') || 'cluster.local',
    clusterId: str('clusterId') || 'Kubernetes',
  };
}

/** The registration token in `DIR/registration-token`. */
export function readToken(dir: string): string {
  const file = join(dir, TOKEN_FILE);
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new BootstrapError(`cannot read ${file}: ${describe(e)}`);
  }
  if (token === '') throw new BootstrapError(`${file} is empty`);
  return token;
}

/**
 * The xDS proxy's local secret: `DIR/local-xds-secret` (0600), 32 random bytes made on first use and
 * kept, so that apps that read their gRPC bootstrap before an agent restart stay admitted. Delete the
 * file and restart the agent and its apps to change it.
 */
export function loadOrCreateLocalSecret(dir: string): string {
  const file = join(dir, LOCAL_SECRET_FILE);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new BootstrapError(`cannot read ${file}: ${describe(e)}`);
  }
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileAtomic(file, `${secret}\n`, 0o600);
  } catch (e) {
    throw new BootstrapError(`cannot write ${file}: ${describe(e)}`);
  }
  return secret;
}

/** Writes a file atomically with exactly `mode`, whatever the umask (lib/fs/modes.ts). */
export { writeFileAtomic };

/** AR-2: `<group>-<ip with ":" replaced by "-">[-<network>]`, keeping the last 253 characters. */
export function workloadEntryName(group: string, ip: string, network: string): string {
  const name = `${group}-${ip.replaceAll(':', '-')}${network !== '' ? `-${network}` : ''}`;
  return name.length > 253 ? name.slice(name.length - 253) : name;
}

/** Istio-style node id: `<type>~<ip>~<name>.<ns>~<ns>.svc.cluster.local` (agent-protocol.md §3). */
export function nodeId(type: 'sidecar' | 'proxyless', ip: string, name: string, namespace: string): string {
  return `${type}~${ip}~${name}.${namespace}~${namespace}.svc.cluster.local`;
}

/** The first non-internal IPv4 address of this machine (agent-protocol.md §3), else undefined. */
export function firstMachineIPv4(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file or directory';
  if (err.code === 'EACCES') return 'permission denied';
  return errorMessage(e);
}

/**
 * Where to reach the Kubernetes API server: a kubeconfig file (a context, its cluster and user) or,
 * inside a pod, the service account (`KUBERNETES_SERVICE_HOST`/`_PORT`, the mounted token and CA).
 * Supported credentials: bearer `token` / `tokenFile`, client certificates (file or data); not exec or
 * auth-provider plugins, which are refused by name.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { KubeConnection } from './kube-transport.js';

export class KubeconfigError extends Error {}

type Doc = Record<string, unknown>;

function obj(v: unknown): Doc {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The named entry of a kubeconfig list (`clusters`, `users`, `contexts`). */
function named(doc: Doc, list: string, name: string, field: string, file: string): Doc {
  const entries = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
  const hit = entries.map(obj).find((e) => e.name === name);
  if (!hit) throw new KubeconfigError(`${file}: ${field} "${name}" is not in ${list}`);
  return hit;
}

/** Reads a file or inline base64 data (`certificate-authority` / `certificate-authority-data`). */
function fileOrData(section: Doc, key: string, base: string): string | undefined {
  const data = str(section[`${key}-data`]);
  if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
  const path = str(section[key]);
  if (path === undefined) return undefined;
  return readFileSync(isAbsolute(path) ? path : join(base, path), 'utf8');
}

/** The connection of `context` (default: `current-context`) in the kubeconfig at `path`. */
export function loadKubeconfig(path: string, context?: string): KubeConnection & { readonly namespace: string } {
  let doc: Doc;
  try {
    doc = obj(parseYaml(readFileSync(path, 'utf8')));
  } catch (e) {
    throw new KubeconfigError(`${path}: cannot read the kubeconfig: ${(e as Error).message}`);
  }
  const contextName = context ?? str(doc['current-context']);
  if (contextName === undefined) throw new KubeconfigError(`${path}: no current-context, and no --context given`);
  const ctx = obj(named(doc, 'contexts', contextName, 'context', path).context);
  const clusterName = str(ctx.cluster);
  if (clusterName === undefined) throw new KubeconfigError(`${path}: context "${contextName}" names no cluster`);
  const cluster = obj(named(doc, 'clusters', clusterName, `context "${contextName}": cluster`, path).cluster);
  const server = str(cluster.server);
  if (server === undefined) throw new KubeconfigError(`${path}: cluster "${clusterName}" has no server`);
  const userName = str(ctx.user);
  const user = userName === undefined ? {} : obj(named(doc, 'users', userName, `context "${contextName}": user`, path).user);
  for (const plugin of ['exec', 'auth-provider']) {
    if (user[plugin] !== undefined) throw new KubeconfigError(`${path}: user "${userName ?? ''}": ${plugin} credentials are not supported; use a token or a client certificate`);
  }
  const base = dirname(path);
  const inlineToken = str(user.token);
  const tokenFileName = str(user.tokenFile);
  const tokenFile = inlineToken !== undefined || tokenFileName === undefined ? undefined : isAbsolute(tokenFileName) ? tokenFileName : join(base, tokenFileName);
  const token = inlineToken ?? (tokenFile === undefined ? undefined : readFileSync(tokenFile, 'utf8').trim());
  const ca = fileOrData(cluster, 'certificate-authority', base);
  const cert = fileOrData(user, 'client-certificate', base);
  const key = fileOrData(user, 'client-key', base);
  const tlsServerName = str(cluster['tls-server-name']);
  return {
    server,
    namespace: str(ctx.namespace) ?? 'default',
    ...(token !== undefined ? { token } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { clientCert: cert } : {}),
    ...(key !== undefined ? { clientKey: key } : {}),
    ...(tlsServerName !== undefined ? { tlsServerName } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
  };
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** In a pod: the API server from the environment, the service account's token, CA and namespace. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SA_DIR): (KubeConnection & { readonly namespace: string }) | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host === undefined || host === '' || port === undefined || port === '') return undefined;
  const read = (name: string): string => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (e) {
      throw new KubeconfigError(`in-cluster: cannot read ${join(dir, name)}: ${(e as Error).message}`);
    }
  };
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let namespace = 'default';
  try {
    namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim() || 'default';
  } catch {
    // no namespace file: default
  }
  // The token rotates (bound service account tokens): the transport reads tokenFile again every minute.
  return { server, token: read('token').trim(), tokenFile: join(dir, 'token'), ca: read('ca.crt'), namespace };
}

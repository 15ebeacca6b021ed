/**
 * Reads a running serve's HTTP port (`--http-address`) for the commands that introspect it
 * (proxy-status, proxy-config, endpoints --server, version --server). Failures are one sentence
 * naming the address tried and what happened there, never `fetch failed`.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ControlPlaneUnreachable } from './errors.js';
import { errorMessage } from '../lib/errors.js';

/** `http://host:port` from `host:port` or a URL (`--server http://127.0.0.1:15014`). */
export function serveBaseUrl(address: string): string {
  return /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
}

/** A failed request that serve answered (4xx/5xx), with serve's `error` message; exit 2 unless the command handles it. */
export class ServeAnswered extends ControlPlaneUnreachable {
  constructor(readonly status: number, message: string, readonly body: unknown) {
    super(message);
  }
}

/**
 * GETs `path` from serve and parses its JSON. Throws ControlPlaneUnreachable when nothing answers
 * (exit 2), ServeAnswered when serve answered with an error status.
 */
export async function getFromServe<T>(address: string, path: string): Promise<T> {
  const base = serveBaseUrl(address);
  let res: { status: number; text: string };
  try {
    res = await httpGet(`${base}${path}`, 10_000);
  } catch (e) {
    throw new ControlPlaneUnreachable(`cannot reach the control plane at ${address}: ${unreachableReason(e)}; is \`meshbridge serve\` running with --http-address ${base.replace(/^https?:\/\//, '')}?`);
  }
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new ControlPlaneUnreachable(`the server at ${address} answered ${path} with HTTP ${res.status} and no JSON: is it a meshbridge serve of this version?`);
  }
  if (res.status >= 400) {
    const message = typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : `HTTP ${res.status}`;
    throw new ServeAnswered(res.status, message, body);
  }
  return body as T;
}

/** node:http rather than fetch: fetch refuses some ports outright ("bad port") and hides the cause. */
function httpGet(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`nothing answered within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function unreachableReason(e: unknown): string {
  const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
  if (code === 'ETIMEDOUT') return 'nothing answered within 10 s';
  if (code === 'ECONNREFUSED') return 'nothing answers there (connection refused)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  return `nothing answers there (${code ?? (errorMessage(e))})`;
}

/**
 * The probe methods of H-2 (istio-semantics.md §11): httpGet (healthy iff the status is in
 * [200, 400); host default = the agent's IP; path default "/"; scheme lower-cased, default http;
 * HTTPS certificates are not verified, as Kubernetes probes do not), tcpSocket (the connection
 * opens), exec (exit code 0; killed at the timeout) and grpc (grpc-health.ts). Every method gives
 * up after its timeout and leaves no socket, process or timer behind.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { ReadinessProbe } from '../model/config/types.js';
import { grpcHealthCheck } from './grpc-health.js';
import type { ProbeCheck, ProbeResult } from './probe.js';

const HEALTHY: ProbeResult = { healthy: true, message: '' };
const fail = (message: string): ProbeResult => ({ healthy: false, message });

/** The check for a WorkloadGroup probe (exactly one method is set: V-CRD-4); undefined if none. */
export function probeCheck(probe: ReadinessProbe, defaultHost: string): ProbeCheck | undefined {
  if (probe.httpGet !== undefined) {
    const g = probe.httpGet;
    return (t) =>
      httpGetCheck({ host: nonEmpty(g.host) ?? defaultHost, port: g.port, path: g.path ?? '', scheme: g.scheme ?? '', headers: g.httpHeaders ?? [] }, t);
  }
  if (probe.tcpSocket !== undefined) {
    const s = probe.tcpSocket;
    return (t) => tcpCheck(nonEmpty(s.host) ?? defaultHost, s.port, t);
  }
  if (probe.exec !== undefined) {
    const command = probe.exec.command;
    return (t) => execCheck(command, t);
  }
  if (probe.grpc !== undefined) {
    const g = probe.grpc;
    return (t) => grpcHealthCheck(defaultHost, g.port, g.service ?? '', t);
  }
  return undefined;
}

export interface HttpGetTarget {
  readonly host: string;
  readonly port: number;
  /** '' = "/"; a path without a leading "/" gets one. */
  readonly path: string;
  /** 'HTTP' | 'HTTPS' | '' (any case; '' = http). */
  readonly scheme: string;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
}

/** H-2 httpGet: GET, no redirects followed, healthy iff 200 <= status < 400. */
export function httpGetCheck(t: HttpGetTarget, timeoutMs: number): Promise<ProbeResult> {
  const scheme = t.scheme.toLowerCase() === 'https' ? 'https' : 'http';
  const path = t.path === '' ? '/' : t.path.startsWith('/') ? t.path : `/${t.path}`;
  const headers: Record<string, string> = { 'user-agent': 'meshbridge-probe/1.0', accept: '*/*' };
  for (const h of t.headers) headers[h.name.toLowerCase()] = h.value;
  const url = `${scheme}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}${path}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const options = { host: t.host, port: t.port, path, method: 'GET', headers, agent: false as const };
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(status >= 200 && status < 400 ? HEALTHY : fail(`HTTP probe failed with statuscode: ${status} (GET ${url})`));
    };
    const req = scheme === 'https' ? httpsRequest({ ...options, rejectUnauthorized: false }, onResponse) : httpRequest(options, onResponse);
    req.on('error', (e: Error) => finish(fail(`HTTP probe failed: ${e.message} (GET ${url})`)));
    const timer = setTimeout(() => finish(fail(`HTTP probe timed out after ${timeoutMs / 1000}s (GET ${url})`)), timeoutMs);
    req.end();
  });
}

/** H-2 tcpSocket: healthy iff a TCP connection opens within the timeout; it is closed at once. */
export function tcpCheck(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    socket.once('connect', () => finish(HEALTHY));
    socket.once('error', (e: Error) => finish(fail(`TCP probe failed: ${e.message}`)));
    const timer = setTimeout(() => finish(fail(`TCP probe to ${host}:${port} timed out after ${timeoutMs / 1000}s`)), timeoutMs);
  });
}

/** H-2 exec: runs the command (no shell); healthy iff it exits with 0; killed (SIGKILL) at the timeout. */
export function execCheck(command: readonly string[], timeoutMs: number): Promise<ProbeResult> {
  const [file, ...args] = command;
  if (file === undefined) return Promise.resolve(fail('exec probe has no command'));
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 512) stderr += d.toString('utf8');
    });
    child.once('error', (e: Error) => finish(fail(`exec probe failed: ${e.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) return finish(HEALTHY);
      const detail = stderr.trim().split('\n')[0] ?? '';
      const how = code !== null ? `exited with code ${code}` : `was killed by ${signal ?? 'a signal'}`;
      finish(fail(`exec probe ${JSON.stringify(command.join(' '))} ${how}${detail !== '' ? `: ${detail}` : ''}`));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(fail(`exec probe ${JSON.stringify(command.join(' '))} timed out after ${timeoutMs / 1000}s`));
    }, timeoutMs);
  });
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

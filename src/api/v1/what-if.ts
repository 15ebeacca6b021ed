/**
 * `POST /api/v1/what-if` (dashboard what-if view): the body names changed files (pasted or
 * uploaded YAML) and optionally a client selection; the answer is the what-if result against the
 * objects the control plane holds now (registered WorkloadEntries included). Nothing is applied.
 */
import type { ConfigObject } from '../../model/config/types.js';
import { inputObjects, type Registry } from '../../registry/registry.js';
import { whatIfOnObjects, type ClientSelection } from '../../status/what-if.js';
import type { ApiError, WhatIfRequest, WhatIfResponse } from './types.js';

/** At most this many files, and this many characters of text in all (a what-if is a change, not a mesh). */
export const WHAT_IF_LIMITS = { files: 100, chars: 4 * 1024 * 1024 } as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(o: Record<string, unknown>, field: string): string | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new RequestError(`clients.${field} must be a string`);
  return v;
}

class RequestError extends Error {}

function parseClients(v: unknown): ClientSelection {
  if (v === undefined) return {};
  if (!isRecord(v)) throw new RequestError('clients must be an object');
  const kind = optionalString(v, 'kind');
  if (kind !== undefined && kind !== 'envoy' && kind !== 'grpc') throw new RequestError(`clients.kind must be envoy or grpc, not ${JSON.stringify(kind)}`);
  const labels = v['labels'];
  if (labels !== undefined && (!isRecord(labels) || Object.values(labels).some((x) => typeof x !== 'string'))) throw new RequestError('clients.labels must map names to strings');
  const namespace = optionalString(v, 'namespace');
  const locality = optionalString(v, 'locality');
  const network = optionalString(v, 'network');
  return {
    ...(namespace !== undefined ? { namespace } : {}),
    ...(kind !== undefined ? { kind } : {}),
    ...(locality !== undefined ? { locality } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(labels !== undefined ? { labels: labels as Record<string, string> } : {}),
  };
}

/** The request body, checked; a RequestError names what is wrong. */
export function parseWhatIfRequest(body: unknown): WhatIfRequest {
  if (!isRecord(body)) throw new RequestError('the body must be a JSON object {files: [{path, text}], clients?}');
  const files = body['files'];
  if (!Array.isArray(files) || files.length === 0) throw new RequestError('files must be a non-empty array of {path, text}');
  if (files.length > WHAT_IF_LIMITS.files) throw new RequestError(`at most ${WHAT_IF_LIMITS.files} files, not ${files.length}`);
  let chars = 0;
  const parsed = files.map((f: unknown, i) => {
    if (!isRecord(f) || typeof f['path'] !== 'string' || typeof f['text'] !== 'string') throw new RequestError(`files[${i}] must be {path: string, text: string}`);
    chars += f['text'].length;
    return { path: f['path'], text: f['text'] };
  });
  if (chars > WHAT_IF_LIMITS.chars) throw new RequestError(`the files hold ${chars} characters, more than ${WHAT_IF_LIMITS.chars}`);
  return { files: parsed, clients: parseClients(body['clients']) };
}

/** Every input object of the registry (the configuration the control plane serves now). */
export function registryObjects(registry: Registry): ConfigObject[] {
  return inputObjects(registry.inputs);
}

/** The endpoint's answer: 200 with the what-if result, or 400 naming what is wrong with the request. */
export function whatIfView(registry: Registry, body: unknown): { readonly status: 200; readonly body: WhatIfResponse } | { readonly status: 400; readonly body: ApiError } {
  let request: WhatIfRequest;
  try {
    request = parseWhatIfRequest(body);
  } catch (e) {
    if (e instanceof RequestError) return { status: 400, body: { error: e.message } };
    throw e;
  }
  return { status: 200, body: whatIfOnObjects(registryObjects(registry), request.files, request.clients ?? {}) };
}

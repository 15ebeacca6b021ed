/**
 * WorkloadGroup: Istio's webhook (V-WG-1..5, `ValidateWorkloadGroup`) and the CRD schema (V-CRD-4).
 * The template is checked only against the schema (the webhook leaves it alone, V-WG-1).
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import { checkLabelSyntax, readPortNumber } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import {
  INT32_MAX,
  asObjectItem,
  childPath,
  describeValue,
  fieldName,
  fieldOf,
  isPresent,
  quote,
  readInteger,
  readList,
  readObject,
  readSpec,
  readString,
  readStringMap,
  typeError,
  warnUnknownFields,
} from './json.js';
import type { KindValidator } from './resource-context.js';
import { validateEntrySpec } from './workload-entry.js';

const SPEC: FieldPath = ['spec'];
const PROBE: FieldPath = ['spec', 'probe'];
const PROBE_INTEGERS = ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const;
const PROBE_METHODS = ['httpGet', 'tcpSocket', 'exec', 'grpc'] as const;
/** The webhook's header-name pattern (stricter than the CRD's, which also allows "_"). */
const PROBE_HEADER_NAME = /^[-A-Za-z0-9]+$/;

/** Issue 11: the token revocations `meshbridge workload entry revoke` keeps on a group (lifecycle/token-admission.ts). */
const REVOKED_TOKENS = 'meshbridge.io/revoked-tokens';
const TOKENS_REVOKED_BEFORE = 'meshbridge.io/tokens-revoked-before';

export const validateWorkloadGroup: KindValidator = (resource, context, out) => {
  checkRevocations(context.annotations, out);
  const spec = readSpec(resource, out);
  if (spec === undefined) return;
  warnUnknownFields(spec, ['metadata', 'template', 'probe'], SPEC, out);
  checkTemplate(spec, out);
  checkGroupMetadata(spec, out);
  const probe = readObject(spec, 'probe', SPEC, out);
  if (probe !== undefined) checkProbe(probe, out);
};

/** A revocation that cannot be read is an error (never silently no revocation). */
function checkRevocations(annotations: ReadonlyMap<string, string>, out: Problems): void {
  const ids = annotations.get(REVOKED_TOKENS);
  if (ids !== undefined && !/^\s*[0-9a-f]{16}\s*(,\s*[0-9a-f]{16}\s*)*$/.test(ids)) {
    out.push(error(['metadata', 'annotations', REVOKED_TOKENS], `${REVOKED_TOKENS} must be comma-separated token ids (16 hex digits each), not ${quote(ids)}.`));
  }
  const before = annotations.get(TOKENS_REVOKED_BEFORE);
  if (before !== undefined && (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(before) || Number.isNaN(Date.parse(before)))) {
    out.push(error(['metadata', 'annotations', TOKENS_REVOKED_BEFORE], `${TOKENS_REVOKED_BEFORE} must be an RFC 3339 time (e.g. 2026-01-02T03:04:05Z), not ${quote(before)}.`));
  }
}

/** V-WG-1: the template is required; V-CRD-4: it follows the WorkloadEntry schema. */
function checkTemplate(spec: JsonObject, out: Problems): void {
  const raw = fieldOf(spec, 'template');
  if (raw === undefined || raw === null) {
    out.push(error(childPath(SPEC, 'template'), 'template is required (a WorkloadEntry spec for the workloads of this group).', 'V-WG-1'));
    return;
  }
  const template = readObject(spec, 'template', SPEC, out);
  if (template !== undefined) validateEntrySpec(template, childPath(SPEC, 'template'), { mode: 'template' }, out);
}

/** V-WG-2: `spec.metadata.labels` pass V-SUB-9; V-CRD-4: at most 256 labels and annotations. */
function checkGroupMetadata(spec: JsonObject, out: Problems): void {
  const metadata = readObject(spec, 'metadata', SPEC, out);
  if (metadata === undefined) return;
  const path = childPath(SPEC, 'metadata');
  warnUnknownFields(metadata, ['labels', 'annotations'], path, out);
  const labels = readStringMap(metadata, 'labels', path, out);
  if (labels !== undefined) {
    checkLabelSyntax(labels, childPath(path, 'labels'), out, 'V-WG-2');
    if (labels.size > 256) out.push(error(childPath(path, 'labels'), 'At most 256 labels are allowed.', 'V-CRD-4'));
  }
  const annotations = readStringMap(metadata, 'annotations', path, out);
  if (annotations !== undefined && annotations.size > 256) {
    out.push(error(childPath(path, 'annotations'), 'At most 256 annotations are allowed.', 'V-CRD-4'));
  }
}

/** V-WG-3 .. V-WG-5 and V-CRD-4 on `spec.probe`. */
function checkProbe(probe: JsonObject, out: Problems): void {
  warnUnknownFields(probe, [...PROBE_INTEGERS, ...PROBE_METHODS], PROBE, out);
  for (const key of PROBE_INTEGERS) {
    const value = readInteger(probe, key, PROBE, out);
    if (value !== undefined && value < 0) {
      out.push(error(childPath(PROBE, key), `${key} must be non-negative, not ${value}.`, 'V-WG-3'));
    } else if (value !== undefined && value > INT32_MAX) {
      out.push(error(childPath(PROBE, key), `${key} must be at most ${INT32_MAX}, not ${value}.`, 'V-CRD-4'));
    }
  }
  const methods = PROBE_METHODS.filter((m) => isPresent(probe, m));
  if (methods.length > 1) {
    out.push(error(PROBE, `A probe has exactly one method; found ${methods.join(', ')}.`, 'V-CRD-4'));
  }
  if (methods.length === 0) {
    out.push(error(PROBE, 'Unknown health check method: set one of httpGet, tcpSocket or exec.', 'V-WG-5'));
  }
  if (isPresent(probe, 'httpGet')) checkHttpGet(probe, out);
  if (isPresent(probe, 'tcpSocket')) checkTcpSocket(probe, out);
  if (isPresent(probe, 'exec')) checkExec(probe, out);
  if (isPresent(probe, 'grpc')) checkGrpc(probe, out);
}

function checkHttpGet(probe: JsonObject, out: Problems): void {
  const httpGet = readObject(probe, 'httpGet', PROBE, out);
  if (httpGet === undefined) return;
  const path = childPath(PROBE, 'httpGet');
  warnUnknownFields(httpGet, ['path', 'port', 'host', 'scheme', 'httpHeaders'], path, out);
  readString(httpGet, 'path', path, out);
  readString(httpGet, 'host', path, out);
  readPortNumber(httpGet, 'port', path, out, { required: true, rule: 'V-WG-4' });
  const scheme = fieldOf(httpGet, 'scheme');
  if (scheme !== undefined && scheme !== null && scheme !== '' && scheme !== 'HTTP' && scheme !== 'HTTPS') {
    const shown = typeof scheme === 'string' ? quote(scheme) : describeValue(scheme);
    out.push(error(childPath(path, 'scheme'), `httpGet.scheme must be "HTTP" or "HTTPS" (upper case), not ${shown}.`, 'V-WG-4'));
  }
  const headers = readList(httpGet, 'httpHeaders', path, out) ?? [];
  headers.forEach((item, i) => {
    const at = childPath(childPath(path, 'httpHeaders'), i);
    const header = asObjectItem(item, at, out, 'Header');
    if (header === undefined) return;
    warnUnknownFields(header, ['name', 'value'], at, out);
    readString(header, 'value', at, out);
    const name = readString(header, 'name', at, out) ?? '';
    if (!PROBE_HEADER_NAME.test(name)) {
      out.push(error(childPath(at, 'name'), `Header name ${quote(name)} is not valid: use letters, digits and "-".`, 'V-WG-4'));
    }
  });
}

function checkTcpSocket(probe: JsonObject, out: Problems): void {
  const tcpSocket = readObject(probe, 'tcpSocket', PROBE, out);
  if (tcpSocket === undefined) return;
  const path = childPath(PROBE, 'tcpSocket');
  warnUnknownFields(tcpSocket, ['host', 'port'], path, out);
  readString(tcpSocket, 'host', path, out);
  readPortNumber(tcpSocket, 'port', path, out, { required: true, rule: 'V-WG-4' });
}

function checkExec(probe: JsonObject, out: Problems): void {
  const exec = readObject(probe, 'exec', PROBE, out);
  if (exec === undefined) return;
  const path = childPath(PROBE, 'exec');
  warnUnknownFields(exec, ['command'], path, out);
  const command = readList(exec, 'command', path, out);
  if (command === undefined || command.length === 0) {
    out.push(error(childPath(path, 'command'), 'exec.command is required (the program and its arguments).', 'V-WG-4'));
    return;
  }
  command.forEach((item, i) => {
    const at = childPath(childPath(path, 'command'), i);
    if (typeof item !== 'string') out.push(typeError(at, 'a string', item));
    else if (item === '') out.push(error(at, `${fieldName(at)} must not be empty.`, 'V-CRD-4'));
  });
}

/** V-WG-5: the webhook refuses gRPC probes although the API and the agent support them. */
function checkGrpc(probe: JsonObject, out: Problems): void {
  const path = childPath(PROBE, 'grpc');
  const grpc = readObject(probe, 'grpc', PROBE, out);
  if (grpc !== undefined) {
    warnUnknownFields(grpc, ['port', 'service'], path, out);
    readString(grpc, 'service', path, out);
    readPortNumber(grpc, 'port', path, out, { rule: 'V-CRD-4' });
  }
  out.push(error(path, 'Unknown health check method: Istio\'s validation does not accept grpc probes; use httpGet, tcpSocket or exec.', 'V-WG-5'));
}

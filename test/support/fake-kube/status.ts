/**
 * Part of the fake Kubernetes API server (TEST DOUBLE, see ../fake-kube-apiserver.ts): the
 * `metav1.Status` failure bodies, built exactly as kube-apiserver's `k8s.io/apimachinery/pkg/api/errors`
 * constructors build them (message wording, `reason`, `details` with the resource plural in `kind`).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Expired'
  | 'Gone'
  | 'BadRequest'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'MethodNotAllowed'
  | 'Unauthorized'
  | 'Timeout';

export interface StatusCause {
  readonly reason?: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  /** The resource plural (`pods`), as the real server fills it. */
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** A request the fake refuses: becomes an HTTP status plus a Status body (or an ERROR watch event). */
export class KubeError extends Error {
  /** Not sent: why the fake refused, where the real server's body does not say. */
  diagnostic = '';

  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  /** The `metav1.Status` JSON, field order as the real server writes it. */
  body(): JsonObject {
    const out: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason };
    if (this.details) {
      const d: JsonObject = {};
      if (this.details.name !== undefined) d.name = this.details.name;
      if (this.details.group !== undefined && this.details.group !== '') d.group = this.details.group;
      if (this.details.kind !== undefined) d.kind = this.details.kind;
      if (this.details.uid !== undefined) d.uid = this.details.uid;
      if (this.details.causes) d.causes = this.details.causes.map((c) => ({ ...c }));
      if (this.details.retryAfterSeconds !== undefined) d.retryAfterSeconds = this.details.retryAfterSeconds;
      out.details = d;
    }
    out.code = this.code;
    return out;
  }
}

/** `group` + `resource` as kube-apiserver names a resource in messages: `pods`, `workloadentries.networking.istio.io`. */
export interface GroupResource {
  readonly group: string;
  readonly resource: string;
}

export function qualified(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

export function notFound(gr: GroupResource, name: string): KubeError {
  return new KubeError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, { name, group: gr.group, kind: gr.resource });
}

export function alreadyExists(gr: GroupResource, name: string): KubeError {
  return new KubeError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, { name, group: gr.group, kind: gr.resource });
}

/** The optimistic-concurrency conflict (stale `resourceVersion`). */
export function conflict(gr: GroupResource, name: string, why: string): KubeError {
  return new KubeError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, {
    name,
    group: gr.group,
    kind: gr.resource,
  });
}

export const STALE_OBJECT = 'the object has been modified; please apply your changes to the latest version and try again';

/** `errors.NewInvalid`: `<Kind>.<group> "<name>" is invalid: <field>: <detail>`. */
export function invalid(groupKind: { group: string; kind: string }, name: string, causes: readonly Required<StatusCause>[]): KubeError {
  const gk = groupKind.group === '' ? groupKind.kind : `${groupKind.kind}.${groupKind.group}`;
  const text = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = text.length === 1 ? (text[0] ?? '') : `[${text.join(', ')}]`;
  return new KubeError(422, 'Invalid', `${gk} "${name}" is invalid: ${joined}`, {
    name,
    group: groupKind.group,
    kind: groupKind.kind,
    causes,
  });
}

export function badRequest(message: string): KubeError {
  return new KubeError(400, 'BadRequest', message);
}

/**
 * `errors.NewGenericServerResponse(422, …)` as the PATCH handler raises it when a JSON patch cannot
 * apply: the real body carries only the generic message and empty details (the patch library's text is
 * dropped), so `why` is kept on the error for the fake's own diagnostics only.
 */
export function unprocessablePatch(why: string): KubeError {
  const err = new KubeError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
  err.diagnostic = why;
  return err;
}

export function expired(message = 'The resourceVersion for the provided watch is too old.'): KubeError {
  return new KubeError(410, 'Expired', message);
}

/** Faults injected by tests: what the real server sends for 500, 503, 429 and 410. */
export function injected(code: number, retryAfterSeconds?: number): KubeError {
  const retry = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  switch (code) {
    case 410:
      return expired();
    case 429:
      return new KubeError(429, 'TooManyRequests', 'Too many requests, please try again later.', retry);
    case 503:
      return new KubeError(503, 'ServiceUnavailable', 'The server is currently unable to handle the request', retry);
    default:
      return new KubeError(code, 'InternalError', 'Internal error occurred: injected fault', { causes: [{ message: 'injected fault' }] });
  }
}

/**
 * One `http` route of a VirtualService (Istio `validateHTTPRoute`): conflicting actions, match
 * requests, destinations and weights, retries, timeout, fault injection, mirrors, redirect,
 * direct response, rewrite and CORS.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { readLabels, readPortNumber } from './checks.js';
import { readDuration } from './duration.js';
import type { JsonObject, Problems } from './json.js';
import {
  asObjectItem,
  childPath,
  fieldOf,
  isJsonObject,
  isPresent,
  quote,
  readBoolean,
  readInteger,
  readList,
  readNumber,
  readObject,
  readString,
  readStringList,
  warnUnknownFields,
} from './json.js';
import { isDNS1123Label } from './names.js';
import { checkDestination, checkGatewayNames, checkHeaderOperations, checkRouteDestinations, checkStringMatch, checkStringMatchValue, regexProblem } from './route-destination.js';

const HTTP_ROUTE_FIELDS = [
  'name', 'match', 'route', 'redirect', 'directResponse', 'delegate', 'rewrite', 'timeout', 'retries', 'fault',
  'mirror', 'mirrors', 'mirrorPercent', 'mirrorPercentage', 'corsPolicy', 'headers',
] as const;
const MATCH_FIELDS = [
  'name', 'uri', 'scheme', 'method', 'authority', 'headers', 'port', 'sourceLabels', 'gateways', 'queryParams',
  'ignoreUriCase', 'withoutHeaders', 'sourceNamespace', 'statPrefix',
] as const;
const RETRY_ON_POLICIES = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);
const GRPC_STATUSES = new Set([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
]);

/** `delegate` is true for routes of a delegate VirtualService (one without hosts). */
export function checkHttpRoute(route: JsonObject, path: FieldPath, delegate: boolean, out: Problems): void {
  warnUnknownFields(route, HTTP_ROUTE_FIELDS, path, out);
  readString(route, 'name', path, out);
  checkActions(route, path, delegate, out);
  checkMatches(route, path, out);
  checkHeaderOperations(route, path, out);
  checkRouteDestinations(route, path, out, ['headers']);
  readDuration(route, 'timeout', path, out);
  checkRetries(route, path, out);
  checkFault(route, path, out);
  checkMirrors(route, path, out);
  checkRedirect(route, path, out);
  checkDirectResponse(route, path, out);
  checkRewrite(route, path, out);
  checkCors(route, path, out);
  checkAuthoritySetOnce(route, path, out);
  const delegateRef = readObject(route, 'delegate', path, out);
  if (delegateRef !== undefined) {
    warnUnknownFields(delegateRef, ['name', 'namespace'], childPath(path, 'delegate'), out);
    if ((readString(delegateRef, 'name', childPath(path, 'delegate'), out) ?? '') === '') {
      out.push(error(childPath(childPath(path, 'delegate'), 'name'), 'delegate.name is required.'));
    }
    readString(delegateRef, 'namespace', childPath(path, 'delegate'), out);
  }
}

/** Which actions a route takes, and the combinations Istio refuses. */
function checkActions(route: JsonObject, path: FieldPath, delegate: boolean, out: Problems): void {
  const has = (key: string): boolean => isPresent(route, key);
  const routeList = readList(route, 'route', path, []) ?? [];
  if (!delegate && has('delegate')) {
    if (has('redirect')) out.push(error(path, 'A root HTTP route with a delegate must not specify a redirect.'));
    if (has('route')) out.push(error(path, 'A root HTTP route with a delegate must not specify a route.'));
    return;
  }
  if (delegate && has('delegate')) out.push(error(childPath(path, 'delegate'), 'A delegate HTTP route cannot itself delegate.'));
  if (has('redirect')) {
    if (routeList.length > 0) out.push(error(path, 'An HTTP route cannot contain both route and redirect.'));
    if (has('fault')) out.push(error(path, 'An HTTP route cannot contain both fault and redirect.'));
    if (has('rewrite')) out.push(error(path, 'An HTTP route cannot contain both rewrite and redirect.'));
    if (has('directResponse')) out.push(error(path, 'An HTTP route cannot contain both directResponse and redirect.'));
  } else if (has('directResponse')) {
    if (routeList.length > 0) out.push(error(path, 'An HTTP route cannot contain both route and directResponse.'));
    if (has('fault')) out.push(error(path, 'An HTTP route cannot contain both fault and directResponse.'));
    if (has('rewrite')) out.push(error(path, 'An HTTP route cannot contain both rewrite and directResponse.'));
  } else if (routeList.length === 0) {
    out.push(error(childPath(path, 'route'), 'An HTTP route needs a route, a redirect or a directResponse.'));
  }
  if (has('mirror') && (readList(route, 'mirrors', path, []) ?? []).length > 0) {
    out.push(error(path, 'An HTTP route cannot contain both mirror and mirrors.'));
  }
}

function checkMatches(route: JsonObject, path: FieldPath, out: Problems): void {
  const list = readList(route, 'match', path, out) ?? [];
  const listPath = childPath(path, 'match');
  list.forEach((item, i) => {
    const at = childPath(listPath, i);
    const match = asObjectItem(item, at, out, 'A match');
    if (match === undefined) return;
    warnUnknownFields(match, MATCH_FIELDS, at, out);
    readString(match, 'name', at, out);
    readString(match, 'statPrefix', at, out);
    readBoolean(match, 'ignoreUriCase', at, out);
    checkStringMatch(match, 'uri', at, out, { allowEmptyPrefix: true });
    for (const key of ['scheme', 'method', 'authority'] as const) checkStringMatch(match, key, at, out);
    for (const key of ['headers', 'withoutHeaders', 'queryParams'] as const) checkMatchMap(match, key, at, out);
    if (readInteger(match, 'port', at, []) !== 0) readPortNumber(match, 'port', at, out);
    readLabels(match, 'sourceLabels', at, out);
    checkGatewayNames(match, 'gateways', at, out);
    const sourceNamespace = readString(match, 'sourceNamespace', at, out) ?? '';
    if (sourceNamespace !== '' && !isDNS1123Label(sourceNamespace)) {
      out.push(error(childPath(at, 'sourceNamespace'), `sourceNamespace ${quote(sourceNamespace)} is not a valid namespace name.`));
    }
  });
}

/** headers / withoutHeaders / queryParams: a map from name to StringMatch. */
function checkMatchMap(match: JsonObject, key: 'headers' | 'withoutHeaders' | 'queryParams', path: FieldPath, out: Problems): void {
  const map = readObject(match, key, path, out);
  if (map === undefined) return;
  const mapPath = childPath(path, key);
  for (const [name, value] of Object.entries(map)) {
    const at = childPath(mapPath, name);
    if (name === '') out.push(error(at, 'A header name must not be empty.'));
    if (!isJsonObject(value)) {
      out.push(error(at, `The ${key} match for ${quote(name)} must be an object with exact, prefix or regex.`));
      continue;
    }
    if (key === 'withoutHeaders' && fieldOf(value, 'regex') === '*') continue; // "*" means "present", not a regex
    checkStringMatchValue(value, at, out);
  }
}

function checkRetries(route: JsonObject, path: FieldPath, out: Problems): void {
  const retries = readObject(route, 'retries', path, out);
  if (retries === undefined) return;
  const at = childPath(path, 'retries');
  warnUnknownFields(retries, ['attempts', 'perTryTimeout', 'retryOn', 'retryRemoteLocalities', 'retryIgnorePreviousHosts', 'backoff'], at, out);
  const attempts = readInteger(retries, 'attempts', at, out) ?? 0;
  if (attempts < 0) out.push(error(childPath(at, 'attempts'), `attempts cannot be negative (${attempts}).`));
  readDuration(retries, 'perTryTimeout', at, out);
  readDuration(retries, 'backoff', at, out);
  readBoolean(retries, 'retryRemoteLocalities', at, out);
  readBoolean(retries, 'retryIgnorePreviousHosts', at, out);
  const retryOn = readString(retries, 'retryOn', at, out) ?? '';
  if (attempts === 0 && (isPresent(retries, 'perTryTimeout') || retryOn !== '' || isPresent(retries, 'retryRemoteLocalities'))) {
    out.push(error(at, 'A retry policy is configured while attempts is 0 (retries disabled); set attempts.'));
  }
  for (const policy of retryOn === '' ? [] : retryOn.split(',')) {
    const code = /^[0-9]{3}$/.test(policy) ? Number(policy) : 0;
    if (!RETRY_ON_POLICIES.has(policy) && !(code >= 100 && code <= 599)) {
      out.push(error(childPath(at, 'retryOn'), `${quote(policy)} is not a valid retryOn policy.`));
    }
  }
}

function checkPercentage(parent: JsonObject, key: string, path: FieldPath, out: Problems): void {
  const percentage = readObject(parent, key, path, out);
  if (percentage === undefined) return;
  const at = childPath(path, key);
  warnUnknownFields(percentage, ['value'], at, out);
  const value = readNumber(percentage, 'value', at, out) ?? 0;
  if (value < 0 || value > 100 || (value > 0 && value < 0.0001)) {
    out.push(error(childPath(at, 'value'), `Percentage ${value} is neither 0 nor in the range 0.0001..100.`));
  }
}

function checkFault(route: JsonObject, path: FieldPath, out: Problems): void {
  const fault = readObject(route, 'fault', path, out);
  if (fault === undefined) return;
  const at = childPath(path, 'fault');
  warnUnknownFields(fault, ['delay', 'abort'], at, out);
  if (!isPresent(fault, 'delay') && !isPresent(fault, 'abort')) out.push(error(at, 'HTTP fault injection must have an abort and/or a delay.'));
  const delay = readObject(fault, 'delay', at, out);
  if (delay !== undefined) {
    const delayPath = childPath(at, 'delay');
    warnUnknownFields(delay, ['fixedDelay', 'exponentialDelay', 'percentage', 'percent'], delayPath, out);
    checkPercentage(delay, 'percentage', delayPath, out);
    readInteger(delay, 'percent', delayPath, out, { min: 0, max: 100 });
    readDuration(delay, 'fixedDelay', delayPath, out);
    if (isPresent(delay, 'exponentialDelay')) out.push(error(childPath(delayPath, 'exponentialDelay'), 'exponentialDelay is not supported yet; use fixedDelay.'));
  }
  const abort = readObject(fault, 'abort', at, out);
  if (abort !== undefined) {
    const abortPath = childPath(at, 'abort');
    warnUnknownFields(abort, ['httpStatus', 'grpcStatus', 'http2Error', 'percentage'], abortPath, out);
    checkPercentage(abort, 'percentage', abortPath, out);
    const status = readInteger(abort, 'httpStatus', abortPath, out);
    const grpc = readString(abort, 'grpcStatus', abortPath, out);
    if (status !== undefined && (status < 200 || status > 600)) {
      out.push(error(childPath(abortPath, 'httpStatus'), `HTTP status ${status} is not in the range 200..599.`));
    }
    if (grpc !== undefined && !GRPC_STATUSES.has(grpc)) {
      out.push(error(childPath(abortPath, 'grpcStatus'), `gRPC status ${quote(grpc)} is not supported; use a name such as "NOT_FOUND".`));
    }
    if (isPresent(abort, 'http2Error')) {
      out.push(error(childPath(abortPath, 'http2Error'), 'HTTP/2 abort fault injection is not supported yet.'));
    } else if (status === undefined && grpc === undefined) {
      out.push(warning(abortPath, 'abort is configured, but no error type (httpStatus or grpcStatus) is set.'));
    }
  }
}

function checkMirrors(route: JsonObject, path: FieldPath, out: Problems): void {
  const mirror = readObject(route, 'mirror', path, out);
  if (mirror !== undefined) checkDestination(mirror, childPath(path, 'mirror'), out);
  checkPercentage(route, 'mirrorPercentage', path, out);
  if (isPresent(route, 'mirrorPercent')) {
    readInteger(route, 'mirrorPercent', path, out, { min: 0, max: 100 });
    out.push(warning(childPath(path, 'mirrorPercent'), 'mirrorPercent is deprecated; use mirrorPercentage.'));
  }
  const list = readList(route, 'mirrors', path, out) ?? [];
  list.forEach((item, i) => {
    const at = childPath(childPath(path, 'mirrors'), i);
    const policy = asObjectItem(item, at, out, 'A mirror');
    if (policy === undefined) return;
    warnUnknownFields(policy, ['destination', 'percentage'], at, out);
    const destination = readObject(policy, 'destination', at, out);
    if (destination === undefined) out.push(error(childPath(at, 'destination'), 'destination is required for mirrors.'));
    else checkDestination(destination, childPath(at, 'destination'), out);
    checkPercentage(policy, 'percentage', at, out);
  });
}

function checkRedirect(route: JsonObject, path: FieldPath, out: Problems): void {
  const redirect = readObject(route, 'redirect', path, out);
  if (redirect === undefined) return;
  const at = childPath(path, 'redirect');
  warnUnknownFields(redirect, ['uri', 'authority', 'port', 'derivePort', 'scheme', 'redirectCode'], at, out);
  const uri = readString(redirect, 'uri', at, out) ?? '';
  const authority = readString(redirect, 'authority', at, out) ?? '';
  const scheme = readString(redirect, 'scheme', at, out) ?? '';
  if (uri === '' && authority === '' && scheme === '' && !isPresent(redirect, 'port') && !isPresent(redirect, 'derivePort')) {
    out.push(error(at, 'A redirect must specify a uri, authority, scheme or port.'));
  }
  const code = readInteger(redirect, 'redirectCode', at, out) ?? 0;
  if (code !== 0 && (code < 300 || code > 399)) out.push(error(childPath(at, 'redirectCode'), `${code} is not a valid redirect code; it must be 3xx.`));
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') out.push(error(childPath(at, 'scheme'), 'The redirect scheme must be "http" or "https".'));
  if (isPresent(redirect, 'port')) readPortNumber(redirect, 'port', at, out);
}

function checkDirectResponse(route: JsonObject, path: FieldPath, out: Problems): void {
  const response = readObject(route, 'directResponse', path, out);
  if (response === undefined) return;
  const at = childPath(path, 'directResponse');
  warnUnknownFields(response, ['status', 'body'], at, out);
  const status = readInteger(response, 'status', at, out) ?? 0;
  if (status < 200 || status > 600) out.push(error(childPath(at, 'status'), `HTTP status ${status} is not in the range 200..599.`));
  const body = readObject(response, 'body', at, out);
  if (body !== undefined) {
    warnUnknownFields(body, ['string', 'bytes'], childPath(at, 'body'), out);
    const size = (readString(body, 'string', childPath(at, 'body'), out) ?? readString(body, 'bytes', childPath(at, 'body'), out) ?? '').length;
    if (size > 1024 * 1024) out.push(error(childPath(at, 'body'), 'A direct response body must be less than 1MB.'));
    else if (size > 100 * 1024) out.push(warning(childPath(at, 'body'), 'Large direct responses may impact control plane performance.'));
  }
}

function checkRewrite(route: JsonObject, path: FieldPath, out: Problems): void {
  const rewrite = readObject(route, 'rewrite', path, out);
  if (rewrite === undefined) return;
  const at = childPath(path, 'rewrite');
  warnUnknownFields(rewrite, ['uri', 'authority', 'uriRegexRewrite'], at, out);
  const uri = readString(rewrite, 'uri', at, out) ?? '';
  const authority = readString(rewrite, 'authority', at, out) ?? '';
  const regexRewrite = readObject(rewrite, 'uriRegexRewrite', at, out);
  if (uri !== '' && regexRewrite !== undefined) out.push(error(at, 'A rewrite may contain only one of uri or uriRegexRewrite.'));
  if (uri === '' && regexRewrite === undefined && authority === '') out.push(error(at, 'A rewrite must specify a uri, uriRegexRewrite or authority.'));
  if (regexRewrite !== undefined) {
    const rrPath = childPath(at, 'uriRegexRewrite');
    warnUnknownFields(regexRewrite, ['match', 'rewrite'], rrPath, out);
    const match = readString(regexRewrite, 'match', rrPath, out) ?? '';
    const replacement = readString(regexRewrite, 'rewrite', rrPath, out) ?? '';
    if (match === '' || replacement === '') out.push(error(rrPath, 'uriRegexRewrite needs both match and rewrite.'));
    const problem = match === '' ? undefined : regexProblem(match);
    if (problem !== undefined) out.push(error(childPath(rrPath, 'match'), problem));
  }
}

function checkCors(route: JsonObject, path: FieldPath, out: Problems): void {
  const cors = readObject(route, 'corsPolicy', path, out);
  if (cors === undefined) return;
  const at = childPath(path, 'corsPolicy');
  warnUnknownFields(cors, ['allowOrigins', 'allowOrigin', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'allowCredentials', 'unmatchedPreflights'], at, out);
  (readList(cors, 'allowOrigins', at, out) ?? []).forEach((item, i) => {
    const originPath = childPath(childPath(at, 'allowOrigins'), i);
    const origin = asObjectItem(item, originPath, out, 'An origin');
    if (origin !== undefined) checkStringMatchValue(origin, originPath, out);
  });
  const methods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', '*']);
  (readStringList(cors, 'allowMethods', at, out) ?? []).forEach((method, i) => {
    if (method !== undefined && !methods.has(method)) out.push(error(childPath(childPath(at, 'allowMethods'), i), `${quote(method)} is not a supported HTTP method.`));
  });
  readStringList(cors, 'allowOrigin', at, out);
  readStringList(cors, 'allowHeaders', at, out);
  readStringList(cors, 'exposeHeaders', at, out);
  readBoolean(cors, 'allowCredentials', at, out);
  readDuration(cors, 'maxAge', at, out);
}

/** The authority may be rewritten in one place only: rewrite.authority or one request header op. */
function checkAuthoritySetOnce(route: JsonObject, path: FieldPath, out: Problems): void {
  const rewrite = fieldOf(route, 'rewrite');
  const request = fieldOf(fieldOrEmpty(fieldOf(route, 'headers')), 'request');
  const places: string[] = [];
  if (isJsonObject(rewrite) && typeof fieldOf(rewrite, 'authority') === 'string' && fieldOf(rewrite, 'authority') !== '') places.push('rewrite.authority');
  for (const op of ['set', 'add'] as const) {
    for (const name of Object.keys(fieldOrEmpty(fieldOf(fieldOrEmpty(request), op)))) {
      const lower = name.toLowerCase();
      if (lower === ':authority' || lower === 'host') places.push(`headers.request.${op}.${name}`);
    }
  }
  if (places.length > 1) out.push(error(path, `The authority header can be set only once; it is set by ${places.join(' and ')}.`));
}

function fieldOrEmpty(value: unknown): JsonObject {
  return isJsonObject(value) ? value : {};
}

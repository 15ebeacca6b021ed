/**
 * DestinationRule traffic policies (Istio `validateTrafficPolicy` and the functions it calls):
 * load balancer, connection pool, outlier detection, client TLS, port-level settings, tunnel and
 * PROXY protocol.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { checkPortNumber, readPortNumber, capitalize } from './checks.js';
import { readDuration } from './duration.js';
import type { JsonObject, Problems } from './json.js';
import {
  INT32_MAX,
  UINT32_MAX,
  asObjectItem,
  childPath,
  isPresent,
  quote,
  readBoolean,
  readEnum,
  readInteger,
  readList,
  readNumber,
  readObject,
  readString,
  readStringList,
  warnUnknownFields,
} from './json.js';
import { isValidIP } from './ip.js';
import { checkLocalityLbSetting, checkZoneAwareLbSetting } from './locality-lb.js';
import { fqdnProblem } from './names.js';

const POLICY_FIELDS = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls', 'portLevelSettings', 'tunnel', 'proxyProtocol', 'retryBudget'] as const;
const PORT_POLICY_FIELDS = ['port', 'loadBalancer', 'connectionPool', 'outlierDetection', 'tls'] as const;
const SIMPLE_LB = ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'] as const;
const TLS_MODES = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] as const;
const H2_UPGRADE = ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'] as const;
const NON_NEGATIVE_INT32 = { min: 0, max: INT32_MAX } as const;
const UINT32 = { min: 0, max: UINT32_MAX } as const;

/** Validates the traffic policy at `parent[key]`, if present. */
export function checkTrafficPolicy(parent: JsonObject, key: string, path: FieldPath, out: Problems): void {
  const policy = readObject(parent, key, path, out);
  if (policy === undefined) return;
  const at = childPath(path, key);
  warnUnknownFields(policy, POLICY_FIELDS, at, out);
  if (!POLICY_FIELDS.some((f) => isPresent(policy, f))) {
    out.push(error(at, 'A traffic policy must have at least one field.'));
    return;
  }
  if (isPresent(policy, 'tunnel') && isPresent(policy, 'proxyProtocol')) {
    out.push(error(at, 'tunnel and proxyProtocol must not be set together.'));
  }
  checkPolicyParts(policy, at, out);
  checkPortLevelSettings(policy, at, out);
  checkTunnel(policy, at, out);
  const proxyProtocol = readObject(policy, 'proxyProtocol', at, out);
  if (proxyProtocol !== undefined) {
    warnUnknownFields(proxyProtocol, ['version'], childPath(at, 'proxyProtocol'), out);
    readEnum(proxyProtocol, 'version', ['V1', 'V2'], childPath(at, 'proxyProtocol'), out);
  }
  readObject(policy, 'retryBudget', at, out);
}

/** The parts shared by a traffic policy and a port-level policy. */
function checkPolicyParts(policy: JsonObject, path: FieldPath, out: Problems): void {
  checkOutlierDetection(policy, path, out);
  checkConnectionPool(policy, path, out);
  checkLoadBalancer(policy, path, isPresent(policy, 'outlierDetection'), out);
  checkClientTls(policy, path, out);
}

function checkPortLevelSettings(policy: JsonObject, path: FieldPath, out: Problems): void {
  const list = readList(policy, 'portLevelSettings', path, out) ?? [];
  const listPath = childPath(path, 'portLevelSettings');
  list.forEach((item, i) => {
    const at = childPath(listPath, i);
    const portPolicy = asObjectItem(item, at, out, 'A port traffic policy');
    if (portPolicy === undefined) return;
    warnUnknownFields(portPolicy, PORT_POLICY_FIELDS, at, out);
    const port = readObject(portPolicy, 'port', at, out);
    if (port === undefined) out.push(error(childPath(at, 'port'), 'A port traffic policy must have a port: {number: N}.'));
    else {
      warnUnknownFields(port, ['number'], childPath(at, 'port'), out);
      readPortNumber(port, 'number', childPath(at, 'port'), out, { required: true });
    }
    if (!PORT_POLICY_FIELDS.some((f) => f !== 'port' && isPresent(portPolicy, f))) {
      out.push(error(at, 'A port traffic policy must have at least one field besides port.'));
      return;
    }
    checkPolicyParts(portPolicy, at, out);
  });
}

function checkLoadBalancer(policy: JsonObject, path: FieldPath, hasOutlierDetection: boolean, out: Problems): void {
  const lb = readObject(policy, 'loadBalancer', path, out);
  if (lb === undefined) return;
  const at = childPath(path, 'loadBalancer');
  warnUnknownFields(lb, ['simple', 'consistentHash', 'localityLbSetting', 'zoneAwareLbSetting', 'warmupDurationSecs', 'warmup'], at, out);
  readEnum(lb, 'simple', SIMPLE_LB, at, out);
  if (isPresent(lb, 'simple') && isPresent(lb, 'consistentHash')) {
    out.push(error(at, 'loadBalancer takes either simple or consistentHash, not both.'));
  }
  checkConsistentHash(lb, at, out);
  if (isPresent(lb, 'localityLbSetting') && isPresent(lb, 'zoneAwareLbSetting')) {
    out.push(error(at, 'Only one of localityLbSetting and zoneAwareLbSetting can be set.'));
  }
  checkLocalityLbSetting(lb, 'localityLbSetting', at, { hasOutlierDetection }, out);
  checkZoneAwareLbSetting(lb, 'zoneAwareLbSetting', at, { hasOutlierDetection }, out);
  readDuration(lb, 'warmupDurationSecs', at, out);
  const warmup = readObject(lb, 'warmup', at, out);
  if (warmup !== undefined) {
    const warmupPath = childPath(at, 'warmup');
    warnUnknownFields(warmup, ['duration', 'minimumPercent', 'aggression'], warmupPath, out);
    if (!isPresent(warmup, 'duration')) out.push(error(childPath(warmupPath, 'duration'), 'warmup.duration is required.'));
    readDuration(warmup, 'duration', warmupPath, out);
    const minimum = readNumber(warmup, 'minimumPercent', warmupPath, out);
    if (minimum !== undefined && (minimum < 0 || minimum > 100)) {
      out.push(error(childPath(warmupPath, 'minimumPercent'), `minimumPercent must be between 0 and 100, not ${minimum}.`));
    }
    const aggression = readNumber(warmup, 'aggression', warmupPath, out);
    if (aggression !== undefined && aggression < 1) out.push(error(childPath(warmupPath, 'aggression'), `aggression must be at least 1, not ${aggression}.`));
  }
}

const HASH_KEYS = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'] as const;

function checkConsistentHash(lb: JsonObject, path: FieldPath, out: Problems): void {
  const hash = readObject(lb, 'consistentHash', path, out);
  if (hash === undefined) return;
  const at = childPath(path, 'consistentHash');
  warnUnknownFields(hash, [...HASH_KEYS, 'ringHash', 'maglev', 'minimumRingSize'], at, out);
  const keys = HASH_KEYS.filter((k) => isPresent(hash, k));
  if (keys.length > 1) out.push(error(at, `consistentHash takes one hash key; found ${keys.join(', ')}.`));
  readString(hash, 'httpHeaderName', at, out);
  readString(hash, 'httpQueryParameterName', at, out);
  readBoolean(hash, 'useSourceIp', at, out);
  const cookie = readObject(hash, 'httpCookie', at, out);
  if (cookie !== undefined) {
    const cookiePath = childPath(at, 'httpCookie');
    warnUnknownFields(cookie, ['name', 'path', 'ttl', 'attributes'], cookiePath, out);
    readString(cookie, 'path', cookiePath, out);
    readDuration(cookie, 'ttl', cookiePath, out, { checkRange: false });
    if ((readString(cookie, 'name', cookiePath, out) ?? '') === '') out.push(error(childPath(cookiePath, 'name'), 'httpCookie.name is required.'));
  }
  const minimumRingSize = readInteger(hash, 'minimumRingSize', at, out, { min: 0, max: Number.MAX_SAFE_INTEGER });
  warnRingTooLarge(minimumRingSize, childPath(at, 'minimumRingSize'), out);
  if (minimumRingSize !== undefined && minimumRingSize !== 0) {
    out.push(warning(childPath(at, 'minimumRingSize'), 'consistentHash.minimumRingSize is deprecated; use ringHash.minimumRingSize.'));
    if (isPresent(hash, 'ringHash') || isPresent(hash, 'maglev')) {
      out.push(error(at, 'Only one of minimumRingSize or maglev/ringHash can be set.'));
    }
  }
  if (isPresent(hash, 'ringHash') && isPresent(hash, 'maglev')) out.push(error(at, 'Only one of ringHash or maglev can be set.'));
  const ringHash = readObject(hash, 'ringHash', at, out);
  if (ringHash !== undefined) {
    warnUnknownFields(ringHash, ['minimumRingSize'], childPath(at, 'ringHash'), out);
    const size = readInteger(ringHash, 'minimumRingSize', childPath(at, 'ringHash'), out, { min: 0, max: Number.MAX_SAFE_INTEGER });
    warnRingTooLarge(size, childPath(childPath(at, 'ringHash'), 'minimumRingSize'), out);
  }
  const maglev = readObject(hash, 'maglev', at, out);
  if (maglev !== undefined) checkMaglev(maglev, childPath(at, 'maglev'), out);
}

/** Envoy (`lte: 8388608` on RingHashLbConfig) and gRPC (gRFC A42) refuse larger hash rings. */
const MAX_RING_SIZE = 8_388_608;

/**
 * Istio accepts any ring size and its proxies NACK the cluster (test/e2e/nack.test.ts): a warning, not
 * an error, so that what Istio accepts stays valid, but the user hears of it before the proxies refuse it.
 */
function warnRingTooLarge(size: number | undefined, path: FieldPath, out: Problems): void {
  if (size !== undefined && size > MAX_RING_SIZE) {
    out.push(warning(path, `a ring of ${size} entries is larger than ${MAX_RING_SIZE}, the largest Envoy and gRPC accept: proxies will reject (NACK) this cluster.`));
  }
}

function checkMaglev(maglev: JsonObject, path: FieldPath, out: Problems): void {
  warnUnknownFields(maglev, ['tableSize'], path, out);
  const at = childPath(path, 'tableSize');
  const size = readInteger(maglev, 'tableSize', path, out, { min: 0, max: Number.MAX_SAFE_INTEGER }) ?? 0;
  if (size === 0) out.push(error(at, 'maglev.tableSize is required.'));
  else if (size >= 5_000_011) out.push(error(at, `maglev.tableSize must be less than 5000011, not ${size}.`));
  else if (!isEnvoyPrime(size)) out.push(error(at, `maglev.tableSize must be a prime number, not ${size}.`));
}

/** Envoy's primality test (and Istio's copy of it): 1, 2 and 3 count as prime. */
function isEnvoyPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let factor = 3; factor * factor <= x; factor += 2) if (x % factor === 0) return false;
  return true;
}

function checkConnectionPool(policy: JsonObject, path: FieldPath, out: Problems): void {
  const pool = readObject(policy, 'connectionPool', path, out);
  if (pool === undefined) return;
  const at = childPath(path, 'connectionPool');
  warnUnknownFields(pool, ['tcp', 'http'], at, out);
  if (!isPresent(pool, 'tcp') && !isPresent(pool, 'http')) out.push(error(at, 'A connection pool must have tcp or http settings.'));
  const http = readObject(pool, 'http', at, out);
  if (http !== undefined) {
    const httpPath = childPath(at, 'http');
    const counters = ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'maxConcurrentStreams'] as const;
    warnUnknownFields(http, [...counters, 'idleTimeout', 'h2UpgradePolicy', 'useClientProtocol'], httpPath, out);
    for (const key of counters) readInteger(http, key, httpPath, out, NON_NEGATIVE_INT32);
    readDuration(http, 'idleTimeout', httpPath, out);
    const upgrade = readEnum(http, 'h2UpgradePolicy', H2_UPGRADE, httpPath, out);
    if (upgrade === 'UPGRADE' && readBoolean(http, 'useClientProtocol', httpPath, out) === true) {
      out.push(error(httpPath, 'useClientProtocol must not be true when h2UpgradePolicy is UPGRADE.'));
    }
  }
  const tcp = readObject(pool, 'tcp', at, out);
  if (tcp !== undefined) {
    const tcpPath = childPath(at, 'tcp');
    warnUnknownFields(tcp, ['maxConnections', 'connectTimeout', 'tcpKeepalive', 'maxConnectionDuration', 'idleTimeout'], tcpPath, out);
    readInteger(tcp, 'maxConnections', tcpPath, out, NON_NEGATIVE_INT32);
    readDuration(tcp, 'connectTimeout', tcpPath, out);
    readDuration(tcp, 'maxConnectionDuration', tcpPath, out);
    readDuration(tcp, 'idleTimeout', tcpPath, out, { allowZero: true });
    const keepalive = readObject(tcp, 'tcpKeepalive', tcpPath, out);
    if (keepalive !== undefined) {
      const kaPath = childPath(tcpPath, 'tcpKeepalive');
      warnUnknownFields(keepalive, ['probes', 'time', 'interval'], kaPath, out);
      readInteger(keepalive, 'probes', kaPath, out, UINT32);
      readDuration(keepalive, 'time', kaPath, out);
      readDuration(keepalive, 'interval', kaPath, out);
    }
  }
}

function checkOutlierDetection(policy: JsonObject, path: FieldPath, out: Problems): void {
  const outlier = readObject(policy, 'outlierDetection', path, out);
  if (outlier === undefined) return;
  const at = childPath(path, 'outlierDetection');
  const counters = ['consecutiveGatewayErrors', 'consecutive5xxErrors', 'consecutiveLocalOriginFailures'] as const;
  warnUnknownFields(outlier, [...counters, 'consecutiveErrors', 'splitExternalLocalOriginErrors', 'interval', 'baseEjectionTime', 'maxEjectionPercent', 'minHealthPercent'], at, out);
  for (const key of counters) readInteger(outlier, key, at, out, UINT32);
  const deprecated = readInteger(outlier, 'consecutiveErrors', at, out, { min: -INT32_MAX - 1, max: INT32_MAX });
  if (deprecated !== undefined && deprecated !== 0) {
    out.push(warning(childPath(at, 'consecutiveErrors'), 'consecutiveErrors is deprecated; use consecutiveGatewayErrors or consecutive5xxErrors.'));
  }
  const split = readBoolean(outlier, 'splitExternalLocalOriginErrors', at, out) ?? false;
  const localOrigin = readInteger(outlier, 'consecutiveLocalOriginFailures', at, [], UINT32) ?? 0;
  if (!split && localOrigin > 0) {
    out.push(error(childPath(at, 'consecutiveLocalOriginFailures'), 'consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true.'));
  }
  readDuration(outlier, 'interval', at, out);
  readDuration(outlier, 'baseEjectionTime', at, out);
  for (const key of ['maxEjectionPercent', 'minHealthPercent'] as const) {
    const percent = readInteger(outlier, key, at, out);
    if (percent !== undefined && (percent < 0 || percent > 100)) {
      out.push(error(childPath(at, key), `${key} ${percent} is not in the range 0..100.`));
    }
  }
}

const CLIENT_TLS_FIELDS = ['mode', 'clientCertificate', 'privateKey', 'caCertificates', 'credentialName', 'subjectAltNames', 'sni', 'insecureSkipVerify', 'caCrl'] as const;

function checkClientTls(policy: JsonObject, path: FieldPath, out: Problems): void {
  const tls = readObject(policy, 'tls', path, out);
  if (tls === undefined) return;
  const at = childPath(path, 'tls');
  warnUnknownFields(tls, CLIENT_TLS_FIELDS, at, out);
  const mode = readEnum(tls, 'mode', TLS_MODES, at, out) ?? 'DISABLE';
  const text = (key: string): string => readString(tls, key, at, out) ?? '';
  const [clientCertificate, privateKey, caCertificates, credentialName, caCrl] = [
    text('clientCertificate'),
    text('privateKey'),
    text('caCertificates'),
    text('credentialName'),
    text('caCrl'),
  ];
  readString(tls, 'sni', at, out);
  const subjectAltNames = readStringList(tls, 'subjectAltNames', at, out);
  if (readBoolean(tls, 'insecureSkipVerify', at, out) === true) {
    if (mode === 'SIMPLE' && (caCertificates !== '' || credentialName !== '' || subjectAltNames !== undefined)) {
      out.push(error(at, 'caCertificates, credentialName and subjectAltNames cannot be set when insecureSkipVerify is true.'));
    }
    if (mode === 'MUTUAL' && (caCertificates !== '' || subjectAltNames !== undefined)) {
      out.push(error(at, 'caCertificates and subjectAltNames cannot be set when insecureSkipVerify is true.'));
    }
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL') && credentialName !== '') {
    if (clientCertificate !== '' || caCertificates !== '' || privateKey !== '' || caCrl !== '') {
      out.push(error(at, 'Client certificates, CA certificates or a CA CRL cannot be set together with credentialName.'));
    }
    return;
  }
  if (mode === 'MUTUAL') {
    if (clientCertificate === '') out.push(error(childPath(at, 'clientCertificate'), 'A client certificate is required for MUTUAL TLS (or set credentialName).'));
    if (privateKey === '') out.push(error(childPath(at, 'privateKey'), 'A private key is required for MUTUAL TLS (or set credentialName).'));
  }
}

function checkTunnel(policy: JsonObject, path: FieldPath, out: Problems): void {
  const tunnel = readObject(policy, 'tunnel', path, out);
  if (tunnel === undefined) return;
  const at = childPath(path, 'tunnel');
  warnUnknownFields(tunnel, ['protocol', 'targetHost', 'targetPort'], at, out);
  const protocol = readString(tunnel, 'protocol', at, out) ?? '';
  if (protocol !== '' && protocol !== 'CONNECT' && protocol !== 'POST') {
    out.push(error(childPath(at, 'protocol'), `tunnel.protocol must be "CONNECT" or "POST", not ${quote(protocol)}.`));
  }
  const host = readString(tunnel, 'targetHost', at, out) ?? '';
  const hostProblem = fqdnProblem(host);
  if (hostProblem !== undefined && !isValidIP(host)) {
    out.push(error(childPath(at, 'targetHost'), `tunnel.targetHost must be an FQDN or an IP address: ${capitalize(hostProblem)}`));
  }
  const port = readInteger(tunnel, 'targetPort', at, out) ?? 0;
  checkPortNumber(port, childPath(at, 'targetPort'), out);
}

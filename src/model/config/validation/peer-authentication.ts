/**
 * PeerAuthentication (Istio `ValidatePeerAuthentication`): `mtls.mode` is one of UNSET, DISABLE,
 * PERMISSIVE, STRICT; `portLevelMtls` keys are ports 1..65535, the map must not be empty when
 * given, and it needs a selector with labels (a mesh- or namespace-wide policy cannot have it).
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import { checkMatchLabelsSelector } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { asObjectItem, childPath, fieldOf, isJsonObject, quote, readEnum, readObject, readSpec, warnUnknownFields } from './json.js';
import type { KindValidator } from './resource-context.js';

const SPEC: FieldPath = ['spec'];
export const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'] as const;

export const validatePeerAuthentication: KindValidator = (resource, _context, out) => {
  const spec = readSpec(resource, out);
  if (spec === undefined) return;
  warnUnknownFields(spec, ['selector', 'mtls', 'portLevelMtls'], SPEC, out);
  const selector = checkMatchLabelsSelector(spec, 'selector', SPEC, out);
  checkMtls(spec, 'mtls', SPEC, out);
  const portLevel = readObject(spec, 'portLevelMtls', SPEC, out);
  if (portLevel === undefined) return;
  const path = childPath(SPEC, 'portLevelMtls');
  const ports = Object.entries(portLevel);
  if (ports.length === 0) out.push(error(path, 'portLevelMtls, if given, must have at least one port.'));
  const matchLabels = selector === undefined ? undefined : fieldOf(selector, 'matchLabels');
  if (ports.length > 0 && !(isJsonObject(matchLabels) && Object.keys(matchLabels).length > 0)) {
    out.push(error(path, 'A mesh- or namespace-wide PeerAuthentication (no selector labels) cannot have portLevelMtls; add spec.selector.matchLabels.'));
  }
  for (const [port, value] of ports) {
    const at = childPath(path, port);
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      out.push(error(at, `portLevelMtls key ${quote(port)} must be a port number in the range 1..65535.`));
    }
    if (asObjectItem(value, at, out, 'A port-level mTLS setting') !== undefined) checkMtls(portLevel, port, path, out);
  }
};

function checkMtls(parent: JsonObject, key: string, path: FieldPath, out: Problems): void {
  const mtls = readObject(parent, key, path, out);
  if (mtls === undefined) return;
  warnUnknownFields(mtls, ['mode'], childPath(path, key), out);
  readEnum(mtls, 'mode', MTLS_MODES, childPath(path, key), out);
}

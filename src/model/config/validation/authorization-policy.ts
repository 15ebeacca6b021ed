/**
 * AuthorizationPolicy (Istio `ValidateAuthorizationPolicy`): action, provider, selector/targetRef,
 * and rules with non-empty `from.source`, `to.operation` and known `when` keys. It fails closed:
 * unknown fields anywhere in it are errors (refuseUnknownFields), and CUSTOM needs a provider.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error, warning } from '../../../lib/result/problem.js';
import { checkMatchLabelsSelector } from './checks.js';
import type { JsonObject, Problems } from './json.js';
import { asObjectItem, childPath, isPresent, quote, readEnum, readList, readObject, readSpec, readString, readStringList,  } from './json.js';
import { DRY_RUN_ANNOTATION } from './metadata.js';
import type { KindValidator } from './resource-context.js';
import { checkIpBlock, checkWhenCondition, refuseUnknownFields } from './authorization-conditions.js';

const SPEC: FieldPath = ['spec'];
const ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const;
const SOURCE_FIELDS = [
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'serviceAccounts', 'notServiceAccounts', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks',
] as const;
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
/** Source fields that only mTLS peers carry; a DENY rule using only HTTP attributes blocks all TCP traffic. */
const TCP_SOURCE_FIELDS = new Set([
  'principals', 'notPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks',
  'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts',
]);
/** `targetRef` kinds Istio allows, by canonical group. */
const TARGET_KINDS = new Set(['core/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass']);
const GO_BOOLEANS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

export const validateAuthorizationPolicy: KindValidator = (resource, context, out) => {
  const spec = readSpec(resource, out);
  if (spec === undefined) return;
  refuseUnknownFields(spec, ['selector', 'targetRef', 'targetRefs', 'rules', 'action', 'provider'], SPEC, out);
  const action = isPresent(spec, 'action') ? readEnum(spec, 'action', ACTIONS, SPEC, out) : 'ALLOW';
  checkDryRun(context.annotations, action, out);
  checkTargets(spec, out);
  const provider = readObject(spec, 'provider', SPEC, out);
  if (provider !== undefined) refuseUnknownFields(provider, ['name'], childPath(SPEC, 'provider'), out);
  const providerName = provider === undefined ? '' : (readString(provider, 'name', childPath(SPEC, 'provider'), out) ?? '');
  const rulesPresent = isPresent(spec, 'rules');
  if (action === 'CUSTOM') {
    if (!rulesPresent) out.push(error(childPath(SPEC, 'rules'), 'A CUSTOM policy without rules is never triggered; add an empty rule {} to apply it to every request.'));
    if (providerName === '') out.push(error(childPath(SPEC, 'provider'), 'provider.name is required for the CUSTOM action.'));
  } else if (provider !== undefined) {
    out.push(error(childPath(SPEC, 'provider'), `provider may only be set with the CUSTOM action, not ${action ?? 'this action'}.`));
  }
  if (action === 'DENY' && !rulesPresent) {
    out.push(error(childPath(SPEC, 'rules'), 'A DENY policy without rules is never triggered; add an empty rule {} to apply it to every request.'));
  }
  (readList(spec, 'rules', SPEC, out) ?? []).forEach((item, i) => {
    const at = childPath(childPath(SPEC, 'rules'), i);
    const rule = asObjectItem(item, at, out, 'A rule');
    if (rule !== undefined) checkRule(rule, at, action, out);
  });
};

function checkDryRun(annotations: ReadonlyMap<string, string>, action: string | undefined, out: Problems): void {
  const value = annotations.get(DRY_RUN_ANNOTATION);
  if (value === undefined) return;
  const at: FieldPath = ['metadata', 'annotations', DRY_RUN_ANNOTATION];
  if (action !== 'ALLOW' && action !== 'DENY') {
    out.push(error(at, `The annotation ${DRY_RUN_ANNOTATION} only supports the ALLOW and DENY actions, not ${action ?? 'this one'}.`, 'V-META-1'));
  } else if (!GO_BOOLEANS.has(value)) {
    out.push(error(at, `The annotation ${DRY_RUN_ANNOTATION} must be "true" or "false", not ${quote(value)}.`, 'V-META-1'));
  }
}

function checkTargets(spec: JsonObject, out: Problems): void {
  const selector = checkMatchLabelsSelector(spec, 'selector', SPEC, out);
  const targetRef = readObject(spec, 'targetRef', SPEC, out);
  const targetRefs = readList(spec, 'targetRefs', SPEC, out) ?? [];
  if ([selector !== undefined, targetRef !== undefined, targetRefs.length > 0].filter(Boolean).length > 1) {
    out.push(error(SPEC, 'Only one of selector, targetRef or targetRefs can be set.'));
  }
  if (targetRef !== undefined) checkTargetRef(targetRef, childPath(SPEC, 'targetRef'), out);
  targetRefs.forEach((item, i) => {
    const at = childPath(childPath(SPEC, 'targetRefs'), i);
    const ref = asObjectItem(item, at, out, 'A targetRef');
    if (ref !== undefined) checkTargetRef(ref, at, out);
  });
}

function checkTargetRef(ref: JsonObject, path: FieldPath, out: Problems): void {
  refuseUnknownFields(ref, ['group', 'kind', 'name', 'namespace'], path, out);
  if ((readString(ref, 'name', path, out) ?? '') === '') out.push(error(childPath(path, 'name'), 'targetRef.name is required.'));
  if ((readString(ref, 'namespace', path, out) ?? '') !== '') {
    out.push(error(childPath(path, 'namespace'), 'targetRef.namespace must not be set; cross-namespace references are not supported.'));
  }
  const group = readString(ref, 'group', path, out) ?? '';
  const kind = readString(ref, 'kind', path, out) ?? '';
  if (!TARGET_KINDS.has(`${group === '' ? 'core' : group}/${kind}`)) {
    out.push(error(childPath(path, 'kind'), `targetRef must refer to a Service, ServiceEntry, Gateway or GatewayClass, not ${quote(`${group}/${kind}`)}.`));
  }
}

function checkRule(rule: JsonObject, path: FieldPath, action: string | undefined, out: Problems): void {
  refuseUnknownFields(rule, ['from', 'to', 'when'], path, out);
  const from = readList(rule, 'from', path, out);
  const to = readList(rule, 'to', path, out);
  if (from !== undefined && from.length === 0) out.push(error(childPath(path, 'from'), '`from` must not be empty when given.'));
  if (to !== undefined && to.length === 0) out.push(error(childPath(path, 'to'), '`to` must not be empty when given.'));
  let tcpInFrom = false;
  (from ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'from'), i);
    const entry = asObjectItem(item, at, out, '`from`');
    if (entry === undefined) return;
    refuseUnknownFields(entry, ['source'], at, out);
    const source = readObject(entry, 'source', at, out);
    if (source === undefined) out.push(error(childPath(at, 'source'), '`from.source` is required.'));
    else tcpInFrom = checkSource(source, childPath(at, 'source'), action, out) || tcpInFrom;
  });
  let tcpInTo = false;
  (to ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'to'), i);
    const entry = asObjectItem(item, at, out, '`to`');
    if (entry === undefined) return;
    refuseUnknownFields(entry, ['operation'], at, out);
    const operation = readObject(entry, 'operation', at, out);
    if (operation === undefined) out.push(error(childPath(at, 'operation'), '`to.operation` is required.'));
    else tcpInTo = checkOperation(operation, childPath(at, 'operation'), out) || tcpInTo;
  });
  (readList(rule, 'when', path, out) ?? []).forEach((item, i) => {
    const at = childPath(childPath(path, 'when'), i);
    const condition = asObjectItem(item, at, out, '`when`');
    if (condition !== undefined) checkWhenCondition(condition, at, action, out);
  });
  const hasFrom = (from ?? []).length > 0;
  const hasTo = (to ?? []).length > 0;
  if (action === 'DENY' && ((hasFrom && !hasTo && !tcpInFrom) || (hasTo && !tcpInTo))) {
    out.push(warning(path, 'This DENY rule uses only HTTP attributes, so it denies all traffic to TCP ports in its scope; specify the ports explicitly.'));
  }
}

/** Returns true when the source uses attributes that also apply to plain TCP. */
function checkSource(source: JsonObject, path: FieldPath, action: string | undefined, out: Problems): boolean {
  refuseUnknownFields(source, SOURCE_FIELDS, path, out);
  const lists = new Map(SOURCE_FIELDS.map((f) => [f, readStringList(source, f, path, out)] as const));
  const used = SOURCE_FIELDS.filter((f) => (lists.get(f)?.length ?? 0) > 0);
  if (used.length === 0) out.push(error(path, '`from.source` must not be empty.'));
  const identity = used.some((f) => ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].includes(f));
  if (identity && used.some((f) => f === 'serviceAccounts' || f === 'notServiceAccounts')) {
    out.push(error(path, 'serviceAccounts cannot be combined with namespaces or principals.'));
  }
  for (const [field, values] of lists) {
    (values ?? []).forEach((value, i) => {
      if (value === undefined) return;
      const at = childPath(childPath(path, field), i);
      if (value === '') out.push(error(at, `An empty value is not allowed in ${field}.`));
      else if (field.toLowerCase().includes('ipblocks')) checkIpBlock(value, at, out);
      else if (field.toLowerCase().includes('serviceaccounts') && !/^[^/]+\/[^/]+$/.test(value)) {
        out.push(error(at, `Service account ${quote(value)} must be written as <namespace>/<name>.`));
      }
    });
  }
  if (action === 'CUSTOM') {
    for (const field of used) {
      if (!field.toLowerCase().includes('ipblocks')) out.push(error(childPath(path, field), `${field} is not supported with the CUSTOM action.`));
    }
  }
  return used.some((f) => TCP_SOURCE_FIELDS.has(f));
}


/** Returns true when the operation uses ports (which also apply to plain TCP). */
function checkOperation(operation: JsonObject, path: FieldPath, out: Problems): boolean {
  refuseUnknownFields(operation, OPERATION_FIELDS, path, out);
  const lists = new Map(OPERATION_FIELDS.map((f) => [f, readStringList(operation, f, path, out)] as const));
  if (![...lists.values()].some((l) => (l?.length ?? 0) > 0)) out.push(error(path, '`to.operation` must not be empty.'));
  for (const [field, values] of lists) {
    (values ?? []).forEach((value, i) => {
      if (value === undefined) return;
      const at = childPath(childPath(path, field), i);
      if (value === '') out.push(error(at, `An empty value is not allowed in ${field}.`));
      else if ((field === 'ports' || field === 'notPorts') && !(/^[0-9]+$/.test(value) && Number(value) <= 65535)) {
        out.push(error(at, `Port ${quote(value)} must be a number in the range 0..65535.`));
      } else if ((field === 'paths' || field === 'notPaths') && /\{\*\*?\}/.test(value) && /\/\{\w+=\*\*?\}|\{\w*\}|\/\*\*?|\*\*?\//.test(value)) {
        out.push(error(at, `Path template ${quote(value)} is invalid or unsupported.`));
      }
    });
  }
  return lists.get('ports') !== undefined || lists.get('notPorts') !== undefined;
}

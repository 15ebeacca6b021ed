/**
 * DestinationRule (Istio `ValidateDestinationRule`): host, traffic policy, subsets (unique
 * RFC-1123 names, label maps, their own traffic policies), exportTo and workloadSelector.
 */
import type { FieldPath } from '../../../lib/result/problem.js';
import { error } from '../../../lib/result/problem.js';
import { checkMatchLabelsSelector, checkWildcardDomain, readLabels } from './checks.js';
import { checkExportTo } from './export-to.js';
import type { JsonObject, Problems } from './json.js';
import { asObjectItem, childPath, isPresent, quote, readList, readRequiredString, readSpec, readString, warnUnknownFields } from './json.js';
import { isDNS1123Label } from './names.js';
import type { KindValidator } from './resource-context.js';
import { checkTrafficPolicy } from './traffic-policy.js';

const SPEC: FieldPath = ['spec'];
const DESTINATION_RULE_FIELDS = ['host', 'trafficPolicy', 'subsets', 'exportTo', 'workloadSelector'] as const;

export const validateDestinationRule: KindValidator = (resource, context, out) => {
  const spec = readSpec(resource, out);
  if (spec === undefined) return;
  warnUnknownFields(spec, DESTINATION_RULE_FIELDS, SPEC, out);
  const host = readRequiredString(spec, 'host', SPEC, out, 'host is required (the service the rule applies to).');
  if (host !== undefined) checkWildcardDomain(host, childPath(SPEC, 'host'), out);
  checkTrafficPolicy(spec, 'trafficPolicy', SPEC, out);
  checkSubsets(spec, out);
  checkMatchLabelsSelector(spec, 'workloadSelector', SPEC, out);
  checkExportTo(spec, context.namespace, { allowNone: false, destinationRuleWithSelector: isPresent(spec, 'workloadSelector') }, out);
};

function checkSubsets(spec: JsonObject, out: Problems): void {
  const list = readList(spec, 'subsets', SPEC, out) ?? [];
  const listPath = childPath(SPEC, 'subsets');
  const names = new Set<string>();
  list.forEach((item, i) => {
    const at = childPath(listPath, i);
    const subset = asObjectItem(item, at, out, 'A subset');
    if (subset === undefined) return;
    warnUnknownFields(subset, ['name', 'labels', 'trafficPolicy'], at, out);
    const name = readString(subset, 'name', at, out) ?? '';
    const namePath = childPath(at, 'name');
    if (name === '') out.push(error(namePath, 'A subset name is required.'));
    else if (!isDNS1123Label(name)) out.push(error(namePath, `Subset name ${quote(name)} is invalid: it must be an RFC-1123 label.`));
    if (name !== '' && names.has(name)) out.push(error(namePath, `Subset name ${quote(name)} is used more than once.`));
    names.add(name);
    readLabels(subset, 'labels', at, out);
    checkTrafficPolicy(subset, 'trafficPolicy', at, out);
  });
}

import { test } from 'node:test';
import { validateResource } from './index.js';
import { expectClean, expectProblem, resource } from './test-support.js';

const se = (exportTo: unknown) => validateResource(resource('ServiceEntry', { hosts: ['a.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS', exportTo }));
const dr = (exportTo: unknown, extra: Record<string, unknown> = {}) => validateResource(resource('DestinationRule', { host: 'a.com', exportTo, ...extra }));

// Cases follow Istio Test_validateExportTo.
test('V-EXP-1: entries are ".", "*", a namespace name, and "~" for ServiceEntry only', () => {
  expectClean(se(['.', 'ns2', 'ns3']));
  expectClean(se(['*']));
  expectClean(se(['~']));
  expectProblem(se(['ns_2']), { severity: 'error', at: 'spec.exportTo[0]', rule: 'V-EXP-1' });
  expectProblem(dr(['~']), { severity: 'error', at: 'spec.exportTo[0]', rule: 'V-EXP-1' });
  expectProblem(se(['']), { severity: 'error', at: 'spec.exportTo[0]', rule: 'V-EXP-1' });
});

test('V-EXP-2: duplicates are errors, "." counting as the own namespace', () => {
  expectProblem(se(['ns2', 'ns2']), { severity: 'error', at: 'spec.exportTo[1]', rule: 'V-EXP-2' });
  expectProblem(se(['.', 'ns1']), { severity: 'error', at: 'spec.exportTo[1]', rule: 'V-EXP-2' });
  expectClean(se(['.', 'ns2']));
});

test('V-EXP-3: "*" and "~" stand alone (even a second "~" is refused)', () => {
  expectProblem(se(['*', 'ns2']), { severity: 'error', at: 'spec.exportTo', rule: 'V-EXP-3' });
  expectProblem(se(['~', '.']), { severity: 'error', at: 'spec.exportTo', rule: 'V-EXP-3' });
  expectProblem(se(['~', '~']), { severity: 'error', rule: 'V-EXP-3' });
  expectProblem(se(['~', '~']), { severity: 'error', rule: 'V-EXP-2' });
});

test('V-EXP-4: an empty or absent list is fine', () => {
  expectClean(se([]));
  expectClean(se(undefined));
  expectProblem(se('*'), { severity: 'error', at: 'spec.exportTo' });
});

test('V-EXP-*: a DestinationRule with a workloadSelector may only export to its own namespace', () => {
  const selector = { workloadSelector: { matchLabels: { app: 'a' } } };
  expectClean(dr(['.'], selector));
  expectProblem(dr(['ns2'], selector), { severity: 'error', at: 'spec.exportTo' });
  expectProblem(dr(['.', 'ns2'], selector), { severity: 'error', at: 'spec.exportTo' });
});

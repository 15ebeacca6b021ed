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

// Istio Test_validateExportTo, row by row (namespace ns5).
const ISTIO_EXPORT_TO: ReadonlyArray<{ name: string; exportTo?: string[]; serviceEntry?: boolean; drSelector?: boolean; wantErr: boolean }> = [
  { name: 'empty exportTo is okay', wantErr: false },
  { name: '* is allowed', exportTo: ['*'], wantErr: false },
  { name: '. and ns1 are allowed', exportTo: ['.', 'ns1'], wantErr: false },
  { name: 'bunch of namespaces in exportTo is okay', exportTo: ['ns1', 'ns2', 'ns5'], wantErr: false },
  { name: '~ is allowed for service entry configs', exportTo: ['~'], serviceEntry: true, wantErr: false },
  { name: '~ not allowed for non service entry configs', exportTo: ['~', 'ns1'], wantErr: true },
  { name: '. and * together are not allowed', exportTo: ['.', '*'], wantErr: true },
  { name: '* and ns1 together are not allowed', exportTo: ['*', 'ns1'], wantErr: true },
  { name: '. and same namespace in exportTo is not okay', exportTo: ['.', 'ns5'], wantErr: true },
  { name: 'duplicate namespaces in exportTo is not okay', exportTo: ['ns1', 'ns2', 'ns1'], wantErr: true },
  { name: 'duplicate none in service entry exportTo is not okay', exportTo: ['~', '~', 'ns1'], serviceEntry: true, wantErr: true },
  { name: 'invalid namespace names are not okay', exportTo: ['ns1_'], wantErr: true },
  { name: 'none and other namespaces cannot be combined in service entry exportTo', exportTo: ['~', 'ns1'], serviceEntry: true, wantErr: true },
  { name: 'destination rule with workloadselector cannot have exportTo (*)', exportTo: ['*'], drSelector: true, wantErr: true },
  { name: 'destination rule with workloadselector can have only exportTo (.)', exportTo: ['.'], drSelector: true, wantErr: false },
  { name: 'destination rule with workloadselector cannot have another ns in exportTo (.)', exportTo: ['somens'], drSelector: true, wantErr: true },
  { name: 'destination rule with workloadselector cannot have another ns in addition to own ns in exportTo (.)', exportTo: ['.', 'somens'], drSelector: true, wantErr: true },
];

for (const row of ISTIO_EXPORT_TO) {
  test(`V-EXP-*: Istio Test_validateExportTo "${row.name}"`, () => {
    const metadata = { namespace: 'ns5' };
    const raw =
      row.serviceEntry === true
        ? resource('ServiceEntry', { hosts: ['a.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS', exportTo: row.exportTo }, metadata)
        : resource('DestinationRule', { host: 'a.com', exportTo: row.exportTo, ...(row.drSelector === true ? { workloadSelector: { matchLabels: { app: 'a' } } } : {}) }, metadata);
    const problems = validateResource(raw);
    if (row.wantErr) expectProblem(problems, { severity: 'error', at: 'spec.exportTo' });
    else expectClean(problems);
  });
}

import { test } from 'node:test';
import { validateResource } from './index.js';
import { expectClean, expectProblem, expectValid, resource } from './test-support.js';
import { hostsOverlap, hostSubsetOf } from './virtual-service.js';

const validate = (spec: unknown) => validateResource(resource('VirtualService', spec));
const route = (over: Record<string, unknown> = {}) => ({ route: [{ destination: { host: 'foo.baz' } }], ...over });
const http = (over: Record<string, unknown> = {}) => validate({ hosts: ['foo.bar'], http: [route(over)] });

// Cases marked "(Istio)" follow TestValidateVirtualService, TestValidateHTTPRoute and TestValidateRouteDestination.
test('VirtualService: hosts (Istio "simple", "bad host", "duplicate hosts", "wildcard for mesh gateway", "delegate with no hosts")', () => {
  expectClean(validate({ hosts: ['foo.bar'], http: [route()] }));
  expectProblem(validate({ hosts: ['foo.ba!r'], http: [route()] }), { severity: 'error', at: 'spec.hosts[0]' });
  expectProblem(validate({ hosts: ['*.foo.bar', '*.bar'], http: [route()] }), { severity: 'error', at: 'spec.hosts' });
  expectProblem(validate({ hosts: ['*'], http: [route()] }), { severity: 'error', at: 'spec.hosts[0]' });
  expectClean(validate({ hosts: ['*'], gateways: ['ns1/somegateway'], http: [route()] }));
  expectClean(validate({ hosts: ['10.0.0.1'], http: [route()] }));
  expectClean(validate({ http: [route()] }));
  expectProblem(validate({ gateways: ['ns1/gw'], http: [route()] }), { severity: 'error', at: 'spec.gateways' });
  expectProblem(validate({ hosts: ['foo.bar'] }), { severity: 'error', at: 'spec' });
});

test('VirtualService: gateway names (Istio "bad gateway", "FQDN for gateway", "namespace/* for gateway")', () => {
  expectProblem(validate({ hosts: ['foo.bar'], gateways: ['b@dgateway'], http: [route()] }), { severity: 'error', at: 'spec.gateways[0]' });
  const legacy = validate({ hosts: ['foo.bar'], gateways: ['gateway.example.com'], http: [route()] });
  expectValid(legacy);
  expectProblem(legacy, { severity: 'warning', at: 'spec.gateways[0]' });
  expectClean(validate({ hosts: ['foo.bar'], gateways: ['ns1/gateway', 'mesh'], http: [route()] }));
  expectProblem(validate({ hosts: ['foo.bar'], gateways: ['ns1/*'], http: [route()] }), { severity: 'error', at: 'spec.gateways[0]' });
  expectProblem(validate({ hosts: ['foo.bar'], gateways: ['*/gateway'], http: [route()] }), { severity: 'error', at: 'spec.gateways[0]' });
});

test('VirtualService: destinations need a host, a valid subset and port (Istio TestValidateRouteDestination)', () => {
  expectProblem(http({ route: [{}] }), { severity: 'error', at: 'spec.http[0].route[0].destination' });
  expectProblem(http({ route: [{ destination: {} }] }), { severity: 'error', at: 'spec.http[0].route[0].destination.host' });
  expectProblem(http({ route: [{ destination: { host: '*' } }] }), { severity: 'error', at: 'spec.http[0].route[0].destination.host' });
  expectProblem(http({ route: [{ destination: { host: 'foo.*' } }] }), { severity: 'error', at: 'spec.http[0].route[0].destination.host' });
  expectProblem(http({ route: [{ destination: { host: 'default/baz' } }] }), { severity: 'error', at: 'spec.http[0].route[0].destination.host' });
  expectClean(http({ route: [{ destination: { host: '*-foo.baz' } }] }));
  expectProblem(http({ route: [{ destination: { host: 'a.b', subset: 'v_1' } }] }), { severity: 'error', at: 'spec.http[0].route[0].destination.subset' });
  expectProblem(http({ route: [{ destination: { host: 'a.b', port: { number: 0 } } }] }), { severity: 'error', at: 'spec.http[0].route[0].destination.port.number', rule: 'V-SUB-1' });
  expectClean(http({ route: [{ destination: { host: 'a.b', subset: 'v1', port: { number: 9080 } } }] }));
});

test('VirtualService: weights are non-negative and, with several destinations, not all zero (Istio current behaviour; any total is accepted)', () => {
  const weighted = (a: unknown, b: unknown) => http({ route: [{ destination: { host: 'a.b' }, weight: a }, { destination: { host: 'c.d' }, weight: b }] });
  expectClean(weighted(25, 75));
  expectClean(weighted(550, 500));
  expectClean(weighted(49, 50));
  expectClean(weighted(100, 0));
  expectProblem(weighted(5, -1), { severity: 'error', at: 'spec.http[0].route[1].weight' });
  expectProblem(weighted(0, 0), { severity: 'error', at: 'spec.http[0].route' });
  expectProblem(weighted('50', 50), { severity: 'error', at: 'spec.http[0].route[0].weight' });
  expectProblem(weighted(50.5, 49.5), { severity: 'error', at: 'spec.http[0].route[0].weight' });
  expectProblem(weighted(2 ** 32, 1), { severity: 'error', at: 'spec.http[0].route[0].weight' });
  expectClean(http({ route: [{ destination: { host: 'a.b' }, weight: 0 }] }));
});

test('VirtualService: http matches take exact, prefix or regex (Istio "empty prefix header match")', () => {
  expectClean(http({ match: [{ uri: { prefix: '/api' }, headers: { 'x-user': { exact: 'a' } }, queryParams: { q: { regex: '^a+$' } } }] }));
  expectClean(http({ match: [{ uri: { prefix: '' } }] }));
  expectProblem(http({ match: [{ headers: { emptyprefix: { prefix: '' } } }] }), { severity: 'error', at: 'spec.http[0].match[0].headers.emptyprefix.prefix' });
  expectProblem(http({ match: [{ uri: { exact: '/a', prefix: '/b' } }] }), { severity: 'error', at: 'spec.http[0].match[0].uri' });
  expectProblem(http({ match: [{ uri: { regex: '(?=x)' } }] }), { severity: 'error', at: 'spec.http[0].match[0].uri.regex' });
  expectProblem(http({ match: [{ uri: { regex: '(' } }] }), { severity: 'error', at: 'spec.http[0].match[0].uri.regex' });
  expectProblem(http({ match: [{ headers: { header: null } }] }), { severity: 'error', at: 'spec.http[0].match[0].headers.header' });
  expectProblem(http({ match: [{ port: 70000 }] }), { severity: 'error', at: 'spec.http[0].match[0].port', rule: 'V-SUB-1' });
  expectProblem(http({ match: [{ sourceLabels: { app: 'a b' } }] }), { severity: 'error', at: 'spec.http[0].match[0].sourceLabels.app', rule: 'V-SUB-9' });
  expectClean(http({ match: [{ withoutHeaders: { 'x-debug': { regex: '*' } } }] }));
});

test('VirtualService: route actions conflict (route/redirect/directResponse) and one is required', () => {
  expectProblem(validate({ hosts: ['foo.bar'], http: [{}] }), { severity: 'error', at: 'spec.http[0].route' });
  expectProblem(http({ redirect: { uri: '/new' } }), { severity: 'error', at: 'spec.http[0]' });
  expectClean(validate({ hosts: ['foo.bar'], http: [{ redirect: { uri: '/new', redirectCode: 301 } }] }));
  expectProblem(validate({ hosts: ['foo.bar'], http: [{ redirect: {} }] }), { severity: 'error', at: 'spec.http[0].redirect' });
  expectProblem(validate({ hosts: ['foo.bar'], http: [{ redirect: { uri: '/x', redirectCode: 200 } }] }), { severity: 'error', at: 'spec.http[0].redirect.redirectCode' });
  expectClean(validate({ hosts: ['foo.bar'], http: [{ directResponse: { status: 503, body: { string: 'down' } } }] }));
  expectProblem(validate({ hosts: ['foo.bar'], http: [{ directResponse: { status: 700 } }] }), { severity: 'error', at: 'spec.http[0].directResponse.status' });
  expectProblem(http({ mirror: { host: 'a.b' }, mirrors: [{ destination: { host: 'c.d' } }] }), { severity: 'error', at: 'spec.http[0]' });
});

test('VirtualService: timeouts, retries and faults', () => {
  expectClean(http({ timeout: '1.5s', retries: { attempts: 3, perTryTimeout: '500ms', retryOn: '5xx,connect-failure,503' } }));
  expectProblem(http({ timeout: '1.5' }), { severity: 'error', at: 'spec.http[0].timeout' });
  expectProblem(http({ timeout: 5 }), { severity: 'error', at: 'spec.http[0].timeout' });
  expectProblem(http({ retries: { attempts: -1 } }), { severity: 'error', at: 'spec.http[0].retries.attempts' });
  expectProblem(http({ retries: { attempts: 0, perTryTimeout: '1s' } }), { severity: 'error', at: 'spec.http[0].retries' });
  expectProblem(http({ retries: { attempts: 2, retryOn: '5xx,bogus' } }), { severity: 'error', at: 'spec.http[0].retries.retryOn' });
  expectClean(http({ fault: { delay: { fixedDelay: '5s', percentage: { value: 0.1 } }, abort: { httpStatus: 503, percentage: { value: 10 } } } }));
  expectProblem(http({ fault: {} }), { severity: 'error', at: 'spec.http[0].fault' });
  expectProblem(http({ fault: { abort: { httpStatus: 99 } } }), { severity: 'error', at: 'spec.http[0].fault.abort.httpStatus' });
  expectProblem(http({ fault: { abort: { grpcStatus: 'BOGUS' } } }), { severity: 'error', at: 'spec.http[0].fault.abort.grpcStatus' });
  expectProblem(http({ fault: { delay: { fixedDelay: '5s', percentage: { value: 101 } } } }), { severity: 'error', at: 'spec.http[0].fault.delay.percentage.value' });
  expectProblem(http({ mirrorPercentage: { value: -1 } }), { severity: 'error', at: 'spec.http[0].mirrorPercentage.value' });
});

test('VirtualService: header operations and authority rewrite (Istio "set authority in rewrite and header")', () => {
  expectClean(http({ headers: { request: { set: { ':authority': 'foo' } } } }));
  expectProblem(http({ headers: { request: { set: { ':authority': 'foo' } } }, rewrite: { authority: 'bar' } }), { severity: 'error', at: 'spec.http[0]' });
  expectProblem(http({ headers: { response: { set: { host: 'x' } } } }), { severity: 'error', at: 'spec.http[0].headers.response.set.host' });
  expectProblem(http({ headers: { request: { remove: [':path'] } } }), { severity: 'error', at: 'spec.http[0].headers.request.remove[0]' });
  expectProblem(http({ rewrite: {} }), { severity: 'error', at: 'spec.http[0].rewrite' });
});

test('VirtualService: tcp and tls routes (Istio "missing tcp route", "missing tls route")', () => {
  expectProblem(validate({ hosts: ['foo.bar'], tcp: [{ match: [{ port: 999 }] }] }), { severity: 'error', at: 'spec.tcp[0].route' });
  expectProblem(validate({ hosts: ['foo.bar'], tls: [{ match: [{ port: 999, sniHosts: ['foo.bar'] }] }] }), { severity: 'error', at: 'spec.tls[0].route' });
  expectClean(validate({ hosts: ['foo.bar'], tcp: [{ match: [{ port: 999, destinationSubnets: ['10.0.0.0/8'] }], route: [{ destination: { host: 'a.b' } }] }] }));
  expectProblem(validate({ hosts: ['*.bar'], tls: [{ match: [{ sniHosts: ['other.com'] }], route: [{ destination: { host: 'a.b' } }] }] }), { severity: 'error', at: 'spec.tls[0].match[0].sniHosts[0]' });
  expectClean(validate({ hosts: ['*.bar'], tls: [{ match: [{ sniHosts: ['foo.bar'] }], route: [{ destination: { host: 'a.b' } }] }] }));
  expectProblem(validate({ hosts: ['foo.bar'], tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/33'] }], route: [{ destination: { host: 'a.b' } }] }] }), { severity: 'error', at: 'spec.tcp[0].match[0].destinationSubnets[0]' });
});

test('VirtualService: unreachable rules are warnings', () => {
  const problems = validate({ hosts: ['foo.bar'], http: [route(), route({ match: [{ uri: { prefix: '/a' } }] })] });
  expectValid(problems);
  expectProblem(problems, { severity: 'warning', at: 'spec.http[1]' });
  const duplicate = validate({ hosts: ['foo.bar'], http: [route({ match: [{ uri: { exact: '/a' } }] }), route({ match: [{ uri: { exact: '/a' }, name: 'x' }] })] });
  expectProblem(duplicate, { severity: 'warning', at: 'spec.http[1]' });
});

test('VirtualService: host overlap and SNI subset helpers follow Istio host.Name', () => {
  const cases: Array<[string, string, boolean]> = [['*.foo.bar', '*.bar', true], ['a.bar', '*.bar', true], ['a.com', 'b.com', false], ['*', 'x.y', true], ['*.a.com', '*.b.com', false]];
  for (const [a, b, want] of cases) {
    if (hostsOverlap(a, b) !== want || hostsOverlap(b, a) !== want) throw new Error(`hostsOverlap(${a}, ${b}) should be ${String(want)}`);
  }
  if (!hostSubsetOf('a.bar', '*.bar') || hostSubsetOf('*.bar', 'a.bar') || !hostSubsetOf('x', '*')) throw new Error('hostSubsetOf is wrong');
});

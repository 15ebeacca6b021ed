import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrContains,
  durationRangeProblem,
  fqdnProblem,
  ipOrCidrProblem,
  isDNS1123Label,
  isHTTPProtocol,
  isIanaServiceName,
  isKubeDNS1123Subdomain,
  isPartialWildcard,
  isTCPProtocol,
  isTLSProtocol,
  isUnixAddress,
  isValidFQDN,
  isValidIP,
  isValidLabelMap,
  isValidPortName,
  isValidPortNumber,
  isWildcardDomain,
  labelKeyProblem,
  labelValueProblem,
  parseCidr,
  parseGoDuration,
  parseIP,
  parseProtocol,
  trustDomainProblem,
  unixAddressProblem,
} from './sub-validators.js';

test('V-SUB-1: port numbers are integers in 1..65535', () => {
  for (const ok of [1, 80, 65535]) assert.ok(isValidPortNumber(ok), String(ok));
  for (const bad of [0, -1, 65536, 80.5, '80', null, Number.NaN, 2 ** 32]) assert.ok(!isValidPortNumber(bad), String(bad));
});

test('V-SUB-2: port names are RFC-1123 labels; digits only is fine, underscores are not', () => {
  for (const ok of ['http', 'HTTP-web', '7777', 'a', 'x'.repeat(63)]) assert.ok(isValidPortName(ok), ok);
  for (const bad of ['', 'http_1', '-http', 'http-', 'a.b', 'x'.repeat(64), 'ünïcode']) assert.ok(!isValidPortName(bad), bad);
  assert.ok(isDNS1123Label('Mixed-Case'));
});

test('V-SUB-3: protocols are parsed case-insensitively to canonical names; HBONE is refused', () => {
  assert.equal(parseProtocol('http'), 'HTTP');
  assert.equal(parseProtocol('grpc-web'), 'GRPC-Web');
  assert.equal(parseProtocol('MYSQL'), 'MySQL');
  assert.equal(parseProtocol('http_proxy'), 'HTTP_PROXY');
  for (const bad of ['', 'FOO', 'HBONE', 'DoubleHBONE', 'h2', 'http ']) assert.equal(parseProtocol(bad), undefined, bad);
  assert.ok(isHTTPProtocol('GRPC') && isHTTPProtocol('HTTP_PROXY') && !isHTTPProtocol('HTTPS') && !isHTTPProtocol(undefined));
  assert.ok(isTLSProtocol('HTTPS') && isTLSProtocol('TLS') && !isTLSProtocol('TCP'));
  assert.ok(isTCPProtocol('TCP') && isTCPProtocol('Mongo') && isTCPProtocol('TLS') && !isTCPProtocol('HTTP') && !isTCPProtocol('UDP'));
});

test('V-SUB-4: IPv4 follows Go netip (no leading zeros, exactly four fields)', () => {
  for (const ok of ['1.2.3.4', '0.0.0.0', '255.255.255.255', '10.0.0.1', '172.16.1.1']) assert.ok(isValidIP(ok), ok);
  for (const bad of ['01.1.1.1', '1.1.1.256', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4:80', 'a.b.c.d', '', '00.1.1.1', '1.2.3.04']) {
    assert.ok(!isValidIP(bad), bad);
  }
  assert.deepEqual(parseIP('10.1.2.3')?.bytes, [10, 1, 2, 3]);
});

test('V-SUB-4: IPv6 follows Go netip (groups, one "::", embedded IPv4, zones)', () => {
  const ok = ['fe80::1', '::', '::1', '2001:db8::', '2001:db8:0:0:0:0:0:1', '::ffff:1.2.3.4', '64:ff9b::192.0.2.33', 'fe80::1%eth0', 'FE80::ABCD', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:1.2.3.4'];
  for (const s of ok) assert.ok(isValidIP(s), s);
  const bad = [
    '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', '12345::', ':1::', '1::2:', 'fe80::1%', '::ffff:01.2.3.4', '1:2:3:4:5:6:7::8',
    '1:2:3:4:5:6:7:1.2.3.4', 'g::1', '%eth0', '[::1]', '::1/128',
  ];
  for (const s of bad) assert.ok(!isValidIP(s), s);
  assert.equal(parseIP('fe80::1%eth0')?.zone, 'eth0');
  assert.deepEqual(parseIP('::ffff:1.2.3.4')?.bytes.slice(10), [0xff, 0xff, 1, 2, 3, 4]);
  assert.deepEqual(parseIP('2001:db8::1')?.bytes, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
});

test('V-SUB-8: CIDR prefixes follow Go netip.ParsePrefix; host bits may be set', () => {
  for (const ok of ['10.0.0.0/8', '172.1.2.16/16', '1.2.3.4/32', '0.0.0.0/0', '2001:db8::/32', '::/0', '::1/128']) assert.ok(parseCidr(ok) !== undefined, ok);
  for (const bad of ['1.1.1.1/33', '1.1.1.1/', '1.1.1.1/08', '1.1.1.1/+8', '1.1.1.1/-1', '::/129', 'fe80::1%eth0/64', '1.2.3/8', '10.0.0.0']) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
  assert.equal(ipOrCidrProblem('172.1.2.16/16'), undefined);
  assert.equal(ipOrCidrProblem('1.2.3.4'), undefined);
  assert.match(ipOrCidrProblem('1.1.1.1/33') ?? '', /not a valid CIDR block/);
  assert.match(ipOrCidrProblem('1.2.3') ?? '', /not a valid IP/);
  assert.match(ipOrCidrProblem('1.2.3.4/8/8') ?? '', /not a valid IP/);
  const prefix = parseCidr('10.1.0.0/16');
  assert.ok(prefix !== undefined);
  const inside = parseIP('10.1.200.3');
  const outside = parseIP('10.2.0.1');
  assert.ok(inside !== undefined && outside !== undefined);
  assert.ok(cidrContains(prefix, inside));
  assert.ok(!cidrContains(prefix, outside));
  const v6 = parseIP('::1');
  assert.ok(v6 !== undefined && !cidrContains(prefix, v6));
});

test('V-SUB-5: FQDNs: one label is fine, trailing dot is fine, numeric TLD and wildcards are not', () => {
  for (const ok of ['foo', 'istio.io', 'istio.io.', 'vm1.corp.example', 'validdns.com', 'a-b.c-d', '1.2.3.', 'foo.123456789012345678901234567890']) {
    assert.ok(isValidFQDN(ok), ok);
  }
  for (const bad of ['', '*.example.com', '1.2.3.4', 'foo.123', 'a..b', 'istio.io..', 'invaliddns.com:9443', '-a.com', 'x'.repeat(256), `${'a'.repeat(64)}.com`]) {
    assert.ok(!isValidFQDN(bad), bad);
  }
  assert.match(fqdnProblem('') ?? '', /empty/);
  assert.match(fqdnProblem('1.2.3.4') ?? '', /all numeric/);
});

test('V-SUB-6: wildcard domains allow "*", "*foo" or "*-foo" only as the first label', () => {
  for (const ok of ['*', '*.com', '*.google.com', '*foo.com', '*-foo.com', '*washingtonpost.com', 'google.com', '123']) assert.ok(isWildcardDomain(ok), ok);
  for (const bad of ['foo.*.com', 'foo*.com', '**.com', '*.*.com', 'foo.*', '', '*.1.2']) assert.ok(!isWildcardDomain(bad), bad);
});

test('V-SUB-7: a partial wildcard contains "*" but is neither "*" nor "*."-prefixed', () => {
  assert.ok(isPartialWildcard('*foo.com'));
  assert.ok(isPartialWildcard('*washingtonpost.com'));
  assert.ok(!isPartialWildcard('*'));
  assert.ok(!isPartialWildcard('*.foo.com'));
  assert.ok(!isPartialWildcard('foo.com'));
});

test('V-SUB-9: label keys [prefix/]name and values, Istio syntax', () => {
  for (const ok of ['app', 'app.kubernetes.io/name', 'topology.istio.io/network', 'a_b', 'A1', 'Example.COM/x']) assert.equal(labelKeyProblem(ok), undefined, ok);
  for (const bad of ['', '.', '-a', 'a/b/c', '/a', 'a/', `${'x'.repeat(64)}`, `${'p'.repeat(254)}/a`, 'bad prefix/a', '*']) {
    assert.notEqual(labelKeyProblem(bad), undefined, bad);
  }
  for (const ok of ['', 'v1', 'a.b_c-d', 'x'.repeat(200)]) assert.equal(labelValueProblem(ok), undefined, ok);
  for (const bad of ['~', '-v1', 'v1-', 'a b', 'web*']) assert.notEqual(labelValueProblem(bad), undefined, bad);
  assert.notEqual(labelValueProblem('x'.repeat(64), { kubernetesMetadata: true }), undefined);
  assert.notEqual(labelKeyProblem('Example.COM/x', { kubernetesMetadata: true }), undefined);
  assert.ok(isValidLabelMap({ app: 'web', version: 'v1' }));
  assert.ok(!isValidLabelMap({ '.': '~' }));
  assert.ok(!isValidLabelMap({ version: 1 }));
  assert.ok(!isValidLabelMap(['a']));
  assert.ok(!isValidLabelMap(null));
});

test('V-SUB-10: unix addresses: non-empty, abstract "@" or an absolute path not ending in "/"', () => {
  assert.ok(isUnixAddress('unix:///var/run/a.sock'));
  assert.ok(!isUnixAddress('1.2.3.4'));
  for (const ok of ['unix:///var/run/a.sock', 'unix://@abstract', 'unix:///lon/google/com']) assert.equal(unixAddressProblem(ok), undefined, ok);
  assert.match(unixAddressProblem('unix://') ?? '', /must not be empty/);
  assert.match(unixAddressProblem('unix://relative/path') ?? '', /absolute path/);
  assert.match(unixAddressProblem('unix:///var/run/') ?? '', /absolute path/);
  assert.match(unixAddressProblem('unix://@abstract/') ?? '', /must not end/);
});

test('Durations use Go syntax and Istio\'s at-least-1ms, whole-millisecond rule', () => {
  assert.equal(parseGoDuration('10s'), 10_000_000_000n);
  assert.equal(parseGoDuration('1.5s'), 1_500_000_000n);
  assert.equal(parseGoDuration('100ms'), 100_000_000n);
  assert.equal(parseGoDuration('1m'), 60_000_000_000n);
  assert.equal(parseGoDuration('1h30m'), 5_400_000_000_000n);
  assert.equal(parseGoDuration('0'), 0n);
  assert.equal(parseGoDuration('-1s'), -1_000_000_000n);
  assert.equal(parseGoDuration('.5s'), 500_000_000n);
  assert.equal(parseGoDuration('1\u00b5s'), 1_000n);
  for (const bad of ['', '10', 's', '1.s.', '.s', '1x', '1 s', '-', '1e3s', '3000000h', 'x'.repeat(1000)]) assert.equal(parseGoDuration(bad), undefined, bad);
  assert.equal(durationRangeProblem(1_000_000n), undefined);
  assert.match(durationRangeProblem(0n) ?? '', /at least 1ms/);
  assert.equal(durationRangeProblem(0n, true), undefined);
  assert.match(durationRangeProblem(1_500_000n) ?? '', /milliseconds/);
});

test('Kubernetes names: subdomains, IANA service names, trust domains', () => {
  assert.ok(isKubeDNS1123Subdomain('se.v1'));
  assert.ok(!isKubeDNS1123Subdomain('Se'));
  assert.ok(!isKubeDNS1123Subdomain('a'.repeat(254)));
  assert.ok(isIanaServiceName('http-web'));
  assert.ok(!isIanaServiceName('8080'));
  assert.ok(!isIanaServiceName('a--b'));
  assert.ok(!isIanaServiceName('sixteen-chars-xx'));
  assert.equal(trustDomainProblem('cluster.local'), undefined);
  assert.notEqual(trustDomainProblem(''), undefined);
  assert.notEqual(trustDomainProblem('a..b'), undefined);
});

/**
 * Issue 7 part B, end to end with a real `meshbridge serve` process and real TLS (docs/security.md):
 * - a client holding namespace a's certificate cannot obtain namespace b's configuration (its ADS
 *   stream naming namespace b is refused with the reason) nor namespace b's certificate (whatever
 *   its CSR asks for, CreateCertificate issues namespace a's identity);
 * - with namespace a it receives its namespace's view (a host exported only to b is not in it) and
 *   the stream's identity is recorded in /debug/syncz;
 * - a forged certificate (another CA) and an expired one are refused with clear reasons;
 * - the plaintext port refuses a non-loopback bind address unless --insecure-xds.
 */
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { NodeSchema } from '../../src/gen/envoy/config/core/v3/base_pb.js';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from '../../src/gen/envoy/service/discovery/v3/discovery_pb.js';
import { CONTROL_PLANE_SERVER_NAME } from '../../src/agent/upstream.js';
import { CertificateAuthority, readCaFiles } from '../../src/security/ca.js';
import { certificateServiceDefinition, type CertificateRequest } from '../../src/security/cert-service.js';
import { adsServiceDefinition } from '../../src/xds/server/ads-service.js';
import { RawAdsStream } from '../xds/fixtures/ads-client.js';
import { cleanups, runCli, startServe, waitFor } from './serve-process.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

const CONFIG = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-a, namespace: a}
spec:
  hosts: [svc-a.a.test]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  endpoints: [{address: 127.0.71.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: secret-b, namespace: b}
spec:
  hosts: [secret-b.b.test]
  exportTo: ['.']
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  endpoints: [{address: 127.0.71.2}]
`;

interface KeyAndCsr {
  readonly keyPem: string;
  readonly csrPem: string;
}

async function keyAndCsr(askFor?: string): Promise<KeyAndCsr> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: ALG,
    ...(askFor !== undefined ? { extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: askFor }])] } : {}),
  });
  return { keyPem: x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'), csrPem: csr.toString('pem') };
}

/** A client certificate for `identity` from `ca`, issued at `now` for `ttlSeconds`. */
async function clientCertificate(ca: CertificateAuthority, identity: string, now = new Date(), ttlSeconds = 3600): Promise<{ chain: string; key: string }> {
  const k = await keyAndCsr();
  const chain = await ca.issue(k.csrPem, identity, ttlSeconds, now);
  return { chain: chain.slice(0, -1).join(''), key: k.keyPem };
}

function tlsChannel(root: string, cert?: { chain: string; key: string }): { credentials: ReturnType<typeof credentials.createSsl>; options: Record<string, string> } {
  return {
    credentials: cert ? credentials.createSsl(Buffer.from(root), Buffer.from(cert.key), Buffer.from(cert.chain)) : credentials.createSsl(Buffer.from(root)),
    options: { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME, 'grpc.default_authority': CONTROL_PLANE_SERVER_NAME },
  };
}

function node(namespace: string, ip: string): MessageInitShape<typeof NodeSchema> {
  return { id: `sidecar~${ip}~app.${namespace}~${namespace}.svc.cluster.local`, metadata: { NAMESPACE: namespace } };
}

/** Opens an ADS stream as `namespace` over TLS, asks for clusters; resolves with the first response or the refusal. */
async function openAds(address: string, channel: ReturnType<typeof tlsChannel>, namespace: string, ip: string): Promise<{ response?: DiscoveryResponse | undefined; error?: ServiceError | undefined; stream: RawAdsStream<DiscoveryRequest, DiscoveryResponse> }> {
  const stream = new RawAdsStream<DiscoveryRequest, DiscoveryResponse>(address, adsServiceDefinition.StreamAggregatedResources, 30_000, {}, channel);
  stream.send(create(DiscoveryRequestSchema, { node: node(namespace, ip), typeUrl: CLUSTER }));
  const outcome = await Promise.race([stream.next(20_000).then((response) => ({ response })), stream.ended.then((error) => ({ error: error ?? undefined }))]);
  return { ...outcome, stream };
}

function createCertificate(address: string, channel: ReturnType<typeof tlsChannel>, csr: string, headers: Record<string, string> = {}): Promise<{ chain?: string[]; error?: ServiceError }> {
  const client = new Client(address, channel.credentials, channel.options);
  const method = certificateServiceDefinition['CreateCertificate'];
  assert.ok(method);
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize as (r: CertificateRequest) => Buffer,
      method.responseDeserialize as (b: Buffer) => string[],
      { csr, validityDuration: 3600 },
      md,
      { deadline: Date.now() + 20_000 },
      (error: ServiceError | null, chain?: string[]) => {
        client.close();
        resolve(error ? { error } : chain ? { chain } : {});
      },
    );
  });
}

test('secure xDS port: a namespace-a certificate gets namespace a only; forged and expired certificates are refused with reasons', { timeout: 120_000 }, async (t) => {
  const own = cleanups(t);
  const serve = own(await startServe({ files: { 'mesh.yaml': CONFIG } }), (s) => s.stop());
  const ca = await CertificateAuthority.fromFiles(readCaFiles(join(`${serve.dir}.state`, 'ca')));
  const root = ca.rootPem;
  const certA = await clientCertificate(ca, 'spiffe://cluster.local/ns/a/sa/sa1');

  // Namespace a's identity asking for namespace b's configuration: refused, with the reason.
  const toB = await openAds(serve.xdsTls, tlsChannel(root, certA), 'b', '127.0.72.1');
  own(toB.stream, (s) => Promise.resolve(s.close()));
  assert.equal(toB.response, undefined, 'no configuration of namespace b is sent');
  assert.equal(toB.error?.code, status.PERMISSION_DENIED);
  assert.match(toB.error?.details ?? '', /certificate identity spiffe:\/\/cluster\.local\/ns\/a\/sa\/sa1 may not receive configuration of namespace b/);

  // Its own namespace: admitted, served namespace a's view (b's namespace-private host is not in it).
  const toA = await openAds(serve.xdsTls, tlsChannel(root, certA), 'a', '127.0.72.2');
  own(toA.stream, (s) => Promise.resolve(s.close()));
  assert.equal(toA.error, undefined, `refused: ${toA.error?.details}`);
  const names = (toA.response?.resources ?? []).map((r) => r.value.length > 0 ? Buffer.from(r.value).toString('latin1') : '');
  assert.ok(names.some((n) => n.includes('svc-a.a.test')), 'namespace a sees its service');
  assert.ok(!names.some((n) => n.includes('secret-b.b.test')), "namespace b's private service is not in namespace a's view");
  const sync = await waitFor(async () => (await serve.syncz()).find((p) => p.namespace === 'a'), 20_000, 'the stream in syncz');
  assert.equal(sync.identity, 'spiffe://cluster.local/ns/a/sa/sa1', 'the authenticated identity is recorded');

  // A certificate for namespace a signed by another CA: refused as forged.
  const other = (await CertificateAuthority.createSelfSigned('cluster.local')).ca;
  const forged = await openAds(serve.xdsTls, tlsChannel(root, await clientCertificate(other, 'spiffe://cluster.local/ns/a/sa/sa1')), 'a', '127.0.72.3');
  own(forged.stream, (s) => Promise.resolve(s.close()));
  assert.equal(forged.error?.code, status.UNAUTHENTICATED, forged.error?.details);
  assert.match(forged.error?.details ?? '', /the client certificate is not signed by this mesh's CA/);

  // Our CA's certificate, expired an hour ago: refused with its expiry time.
  const expiredCert = await clientCertificate(ca, 'spiffe://cluster.local/ns/a/sa/sa1', new Date(Date.now() - 2 * 3600_000), 3600);
  const notAfter = new Date(new X509Certificate(expiredCert.chain).validTo).toISOString();
  const expired = await openAds(serve.xdsTls, tlsChannel(root, expiredCert), 'a', '127.0.72.4');
  own(expired.stream, (s) => Promise.resolve(s.close()));
  assert.equal(expired.error?.code, status.UNAUTHENTICATED);
  assert.equal(expired.error?.details, `the client certificate expired at ${notAfter}`);

  // No credential at all on the secure port: refused.
  const anonymous = await openAds(serve.xdsTls, tlsChannel(root), 'a', '127.0.72.5');
  own(anonymous.stream, (s) => Promise.resolve(s.close()));
  assert.equal(anonymous.error?.code, status.UNAUTHENTICATED);
  assert.match(anonymous.error?.details ?? '', /client certificate of this mesh or a registration token .* is required/);

  // CreateCertificate by certificate (renewal): the identity is the certificate's, whatever the CSR asks.
  const csr = await keyAndCsr('spiffe://cluster.local/ns/b/sa/admin');
  const renewed = await createCertificate(serve.xdsTls, tlsChannel(root, certA), csr.csrPem);
  assert.equal(renewed.error, undefined, renewed.error?.details);
  const leaf = new X509Certificate(renewed.chain?.[0] ?? '');
  assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/a/sa/sa1', 'never namespace b');
  // ... and a forged certificate gets nothing.
  const forgedCsr = await createCertificate(serve.xdsTls, tlsChannel(root, await clientCertificate(other, 'spiffe://cluster.local/ns/b/sa/admin')), csr.csrPem);
  assert.equal(forgedCsr.error?.code, status.UNAUTHENTICATED);
  assert.match(forgedCsr.error?.details ?? '', /not signed by this mesh's CA/);
  // A forged token is refused with its reason.
  const badToken = await createCertificate(serve.xdsTls, tlsChannel(root), csr.csrPem, { authorization: 'Bearer eyJub3QiOiJ2YWxpZCJ9.c2ln' });
  assert.equal(badToken.error?.code, status.UNAUTHENTICATED);
  assert.equal(badToken.error?.details, 'the registration token was not signed by this control plane');
});

test('the plaintext xDS port refuses a non-loopback address unless --insecure-xds', { timeout: 30_000 }, async () => {
  const r = await runCli(['serve', '--config', '/nonexistent-meshbridge-config', '--xds-address', '0.0.0.0:15010', '--secure-xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0'], 20_000);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--xds-address 0\.0\.0\.0:15010 is not a loopback address: the plaintext xDS port is for loopback development only/);
  assert.equal(r.stdout, '', 'nothing listened');
});

test('--no-plaintext-xds: only the secure port listens', { timeout: 60_000 }, async (t) => {
  const own = cleanups(t);
  const serve = own(await startServe({ files: { 'mesh.yaml': CONFIG }, args: ['--no-plaintext-xds'] }), (s) => s.stop());
  assert.match(serve.stdout(), /^xds listening on none \(plaintext xDS turned off\)\nhttp listening on \S+ \(metrics, debug endpoints\)\nxds-tls listening on 127\.0\.0\.1:\d+\n/);
  const ca = await CertificateAuthority.fromFiles(readCaFiles(join(`${serve.dir}.state`, 'ca')));
  const toA = await openAds(serve.xdsTls, tlsChannel(ca.rootPem, await clientCertificate(ca, 'spiffe://cluster.local/ns/a/sa/sa1')), 'a', '127.0.72.6');
  own(toA.stream, (s) => Promise.resolve(s.close()));
  assert.equal(toA.error, undefined, toA.error?.details);
  assert.ok(toA.response, 'served over TLS');
});

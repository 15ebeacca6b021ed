/**
 * Istio's CreateCertificate on the secure port, over real gRPC and TLS (issue 7, docs/security.md):
 * by registration token (first contact) or by the current client certificate (renewal); the issued
 * identity is always the credential's, whatever the CSR asks; a token without a service account
 * gets PERMISSION_DENIED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { webcrypto, X509Certificate } from 'node:crypto';
import { Client, credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { signToken } from '../../src/security/registration-token.js';
import { loadConfig } from '../../src/model/config/load.js';
import type { WorkloadGroup } from '../../src/model/config/types.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { XdsServer } from '../../src/xds/server/xds-server.js';
import { CertificateAuthority } from '../../src/security/ca.js';
import { certificateServiceDefinition, certificateServiceImplementation, type CertificateRequest } from '../../src/security/cert-service.js';
import { CONTROL_PLANE_SERVER_NAME, ServingCertificate } from '../../src/security/server-certificate.js';

const KEY = Buffer.alloc(32, 5);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

async function keyAndCsr(askFor: string): Promise<{ key: string; csr: string }> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: ALG, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: askFor }])] });
  return { key: x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'), csr: csr.toString('pem') };
}

function call(address: string, creds: ChannelCredentials, csr: string, token?: string): Promise<{ chain?: string[]; error?: ServiceError }> {
  const client = new Client(address, creds, { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME });
  const method = certificateServiceDefinition['CreateCertificate'];
  assert.ok(method);
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(method.path, method.requestSerialize as (r: CertificateRequest) => Buffer, method.responseDeserialize as (b: Buffer) => string[], { csr, validityDuration: 600 }, md, { deadline: Date.now() + 10_000 }, (error: ServiceError | null, chain?: string[]) => {
      client.close();
      resolve(error ? { error } : chain ? { chain } : {});
    });
  });
}

/** The live groups the tokens name (issue 11: every token use is admitted against them). */
const GROUPS = loadConfig([{ path: 'groups.yaml', text: `
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: g, namespace: a}
spec: {template: {serviceAccount: web}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata: {name: g-no-sa, namespace: a}
spec: {template: {}}
` }]).objects.filter((o): o is WorkloadGroup => o.kind === 'WorkloadGroup');

test('CreateCertificate by token, then by certificate: always the credential\'s identity', { timeout: 30_000 }, async (t) => {
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  const serving = new ServingCertificate(() => ca);
  const server = new XdsServer({
    source: new ResourceCache(),
    extraServices: [{ definition: certificateServiceDefinition, implementation: certificateServiceImplementation({ ca, signingKey: KEY, trustDomain: () => 'cluster.local', anchors: () => ca.trustAnchors(), group: (ns, name) => GROUPS.find((g) => g.metadata.namespace === ns && g.metadata.name === name), groups: () => GROUPS }) }],
  });
  await serving.start();
  const bound = await server.startSecure('127.0.0.1:0', serving);
  t.after(async () => {
    serving.stop();
    await server.stop(500);
  });
  const root = Buffer.from(ca.rootPem);
  const now = Math.floor(Date.now() / 1000);

  // First contact: the token of namespace a; the CSR asks for namespace b.
  const first = await keyAndCsr('spiffe://cluster.local/ns/b/sa/admin');
  const token = signToken({ namespace: 'a', group: 'g', serviceAccount: 'web', issuedAt: now, expiresAt: now + 600 }, KEY);
  const byToken = await call(bound.address, credentials.createSsl(root), first.csr, token);
  assert.equal(byToken.error, undefined, byToken.error?.details);
  const leaf = byToken.chain?.[0] ?? '';
  assert.equal(new X509Certificate(leaf).subjectAltName, 'URI:spiffe://cluster.local/ns/a/sa/web');

  // Renewal: the certificate alone (no token); again the CSR asks for namespace b.
  const second = await keyAndCsr('spiffe://cluster.local/ns/b/sa/admin');
  const byCert = await call(bound.address, credentials.createSsl(root, Buffer.from(first.key), Buffer.from(leaf)), second.csr);
  assert.equal(byCert.error, undefined, byCert.error?.details);
  assert.equal(new X509Certificate(byCert.chain?.[0] ?? '').subjectAltName, 'URI:spiffe://cluster.local/ns/a/sa/web');

  // A token of a group without a service account: no identity to issue.
  const noSa = signToken({ namespace: 'a', group: 'g-no-sa', serviceAccount: '', issuedAt: now, expiresAt: now + 600 }, KEY);
  const denied = await call(bound.address, credentials.createSsl(root), second.csr, noSa);
  assert.equal(denied.error?.code, 7);
  assert.match(denied.error?.details ?? '', /no serviceAccount: no identity to issue/);

  // No credential: refused with what is needed.
  const anonymous = await call(bound.address, credentials.createSsl(root), second.csr);
  assert.equal(anonymous.error?.code, 16);
});

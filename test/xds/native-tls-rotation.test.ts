/**
 * The secure port on the native transport (`XdsServer` transport `http2`, grpc-http2.ts) with the
 * control plane's rotating serving certificate (security/server-certificate.ts): bound before the
 * first certificate exists (as `serve` binds before loading its CA), connections are dropped until
 * it does; then TLS offers ALPN h2 only, and each rotation (here every second: a 2 s lifetime,
 * renewed at half) applies to new connections without a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { CertificateAuthority } from '../../src/security/ca.js';
import { ServingCertificate } from '../../src/security/server-certificate.js';
import { ResourceCache } from '../../src/xds/cache/resource-cache.js';
import { XdsServer } from '../../src/xds/server/xds-server.js';
import { waitFor } from '../e2e/serve-process.js';

/** One TLS handshake to `port` offering h2: the serving certificate's serial and the ALPN chosen, or the error. */
function handshake(port: number, ca: string): Promise<{ serial: string; alpn: string | false } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'meshbridge.meshbridge-system.svc', ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve({ serial: socket.getPeerCertificate().serialNumber, alpn: socket.alpnProtocol ?? false });
      socket.end();
    });
    socket.on('error', (e: Error) => resolve({ error: e.message }));
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve({ error: 'timeout' });
    });
  });
}

test('native secure port: dropped before the first certificate, then h2 with the serving certificate, rotated for new connections', { timeout: 30_000 }, async (t) => {
  const { ca } = await CertificateAuthority.createSelfSigned('cluster.local');
  const serving = new ServingCertificate(() => ca, { ttlSeconds: 2 });
  const server = new XdsServer({ source: new ResourceCache(), transport: 'http2' });
  const bound = await server.startSecure('127.0.0.1:0', serving);
  t.after(async () => {
    serving.stop();
    await server.stop(200);
  });

  const before = await handshake(bound.port, ca.rootPem);
  assert.ok('error' in before, 'no certificate yet: the connection is dropped, not served with none');

  await serving.start();
  const first = await handshake(bound.port, ca.rootPem);
  assert.ok('serial' in first, `handshake failed: ${'error' in first ? first.error : ''}`);
  assert.equal(first.alpn, 'h2', 'ALPN h2 only');

  // Renewed at half of its 2 s lifetime: a new connection sees the new certificate.
  const rotated = await waitFor(
    async () => {
      const h = await handshake(bound.port, ca.rootPem);
      return 'serial' in h && h.serial !== first.serial ? h : undefined;
    },
    10_000,
    'a connection with the rotated certificate',
  );
  assert.equal(rotated.alpn, 'h2');
});

/**
 * Issue 11 item 6, over real gRPC to a real ControlPlane: a proxyless client of namespace team-a
 * asking for the inbound listener of team-b's VM IP (`xds.istio.io/grpc/lds/inbound/<ip>:8080`)
 * received team-b's Listener with its mTLS settings, policy and principals (the lookup fell back to a
 * workload of another namespace, and a team-a view could share team-b's class). It now gets the
 * router-only plaintext listener an unknown IP gets; team-b's own server still gets its policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { ListenerSchema, type Listener } from '../../src/gen/envoy/config/listener/v3/listener_pb.js';
import { LISTENER } from '../../src/xds/types/resource-types.js';
import { startControlPlaneOn, openAds, proxylessNode, type AdsStream } from '../support/control-plane.js';

const TEAM_B_IP = '127.0.80.2';
const NAME = `xds.istio.io/grpc/lds/inbound/${TEAM_B_IP}:8080`;
const MESH = {
  'team-b.yaml': `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-b, namespace: team-b}
spec: {address: ${TEAM_B_IP}, serviceAccount: sa-b, labels: {app: secret-b}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: team-b}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: only-x, namespace: team-b}
spec:
  selector: {matchLabels: {app: secret-b}}
  action: ALLOW
  rules: [{from: [{source: {principals: [cluster.local/ns/team-b/sa/only-x]}}]}]
`,
  'team-a.yaml': `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-a, namespace: team-a}
spec: {address: 127.0.80.1, serviceAccount: sa-a, labels: {app: a}}
`,
};

/** The Listener `NAME` of the first LDS response on `stream`, with its encoded bytes. */
async function inboundListener(stream: AdsStream): Promise<{ listener: Listener; bytes: Uint8Array }> {
  for (;;) {
    const res = await stream.next(15_000);
    const any = res.resources.find((r) => fromBinary(ListenerSchema, r.value).name === NAME);
    if (any) return { listener: fromBinary(ListenerSchema, any.value), bytes: any.value };
  }
}

/** What of team-b's configuration a Listener reveals (its nested typed configs are searched as bytes). */
function revealed({ listener, bytes }: { listener: Listener; bytes: Uint8Array }): { tls: boolean; principals: boolean; rbac: boolean } {
  const text = Buffer.from(bytes).toString('latin1');
  return {
    tls: listener.filterChains.some((c) => c.transportSocket !== undefined),
    principals: text.includes('only-x') || text.includes('team-b'),
    rbac: text.includes('envoy.filters.http.rbac'),
  };
}

for (const order of ['team-a asks alone', 'team-b\'s server is connected first']) {
  test(`a team-a client asking for team-b's inbound listener gets no team-b policy, principals or TLS (${order})`, { timeout: 60_000 }, async (t) => {
    const cp = await startControlPlaneOn(MESH);
    t.after(() => cp.stop());
    const streams: AdsStream[] = [];
    t.after(() => streams.forEach((s) => s.close()));
    if (order !== 'team-a asks alone') {
      const serverB = openAds(cp.xds, proxylessNode('team-b', TEAM_B_IP, 'vm-b'), LISTENER.typeUrl, [NAME]);
      streams.push(serverB);
      const own = revealed(await inboundListener(serverB));
      assert.deepEqual(own, { tls: true, principals: true, rbac: true }, 'team-b\'s own server gets its STRICT mTLS and its policy');
    }
    const attacker = openAds(cp.xds, proxylessNode('team-a', '127.0.80.1', 'vm-a'), LISTENER.typeUrl, [NAME]);
    streams.push(attacker);
    const got = await inboundListener(attacker);
    assert.deepEqual(revealed(got), { tls: false, principals: false, rbac: false }, 'team-a sees nothing of team-b');
  });
}

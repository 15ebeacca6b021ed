// Issue 7: AuthorizationPolicy -> RBAC (authz.ts), per rule kind, selection and ALLOW/DENY ordering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toJson, type JsonValue } from '@bufbuild/protobuf';
import { anyUnpack, type Any } from '@bufbuild/protobuf/wkt';
import { RBAC_Action } from '../../gen/envoy/config/rbac/v3/rbac_pb.js';
import { RBACSchema } from '../../gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js';
import type { AuthorizationPolicy, AuthorizationPolicySpec } from '../../model/config/types.js';
import { inboundRbac, rbacHttpFilters, selectedPolicies, RBAC_FILTER } from './authz.js';

const MESH = { rootNamespace: 'istio-system', trustDomain: 'td.local' };
const TARGET = { namespace: 'apps', labels: { app: 'echo', version: 'v1' } };

function policy(namespace: string, name: string, spec: AuthorizationPolicySpec): AuthorizationPolicy {
  return { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace }, spec } as AuthorizationPolicy;
}

/** The `rules.policies` of one RBAC filter config as protobuf JSON. */
function policiesJson(rbac: ReturnType<typeof inboundRbac>['allow']): Record<string, JsonValue> {
  assert.ok(rbac, 'an RBAC filter config');
  const json = toJson(RBACSchema, rbac) as { rules?: { policies?: Record<string, JsonValue> } };
  return json.rules?.policies ?? {};
}

test('selection: root namespace without selector = every workload; namespace without selector = its workloads; selector = matching labels in its namespace', () => {
  const all = [
    policy('istio-system', 'mesh-wide', { action: 'DENY', rules: [{}] }),
    policy('apps', 'ns-wide', { rules: [{}] }),
    policy('apps', 'selects-echo', { selector: { matchLabels: { app: 'echo' } }, rules: [{}] }),
    policy('apps', 'selects-other', { selector: { matchLabels: { app: 'other' } }, rules: [{}] }),
    policy('other', 'other-ns', { rules: [{}] }),
    policy('istio-system', 'root-with-selector', { selector: { matchLabels: { app: 'echo' } }, rules: [{}] }),
    policy('apps', 'gateway-target', { targetRef: { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }, rules: [{}] } as AuthorizationPolicySpec),
  ];
  assert.deepEqual(
    selectedPolicies(all, TARGET, MESH.rootNamespace).map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
    ['apps/ns-wide', 'apps/selects-echo', 'istio-system/mesh-wide'],
  );
});

test('ALLOW and DENY: DENY filter before ALLOW; no ALLOW policy -> no ALLOW filter; an ALLOW policy without rules denies all', () => {
  const onlyDeny = inboundRbac([policy('apps', 'd', { action: 'DENY', rules: [{}] })], TARGET, MESH);
  assert.ok(onlyDeny.deny);
  assert.equal(onlyDeny.allow, undefined, 'no ALLOW policy: everything not denied is allowed');
  assert.equal(onlyDeny.deny.rules?.action, RBAC_Action.DENY);
  assert.deepEqual(Object.keys(onlyDeny.deny.rules?.policies ?? {}), ['ns[apps]-policy[d]-rule[0]']);

  const allowNothing = inboundRbac([policy('apps', 'a', { action: 'ALLOW' })], TARGET, MESH);
  assert.equal(allowNothing.allow?.rules?.action, RBAC_Action.ALLOW);
  assert.deepEqual(allowNothing.allow?.rules?.policies, {}, 'ALLOW with no policy matches nothing: denies all');

  const both = inboundRbac([policy('apps', 'a', { rules: [{}] }), policy('apps', 'd', { action: 'DENY', rules: [{}] })], TARGET, MESH);
  const envoyFilters = rbacHttpFilters(both, false);
  assert.deepEqual(envoyFilters.map((f) => f.name), [RBAC_FILTER, RBAC_FILTER]);
  const actions = envoyFilters.map((f) => {
    // rbacHttpFilters packs real Any messages.
    const v = f.configType?.case === 'typedConfig' ? (f.configType.value as Any) : undefined;
    return v ? anyUnpack(v, RBACSchema)?.rules?.action : undefined;
  });
  assert.deepEqual(actions, [RBAC_Action.DENY, RBAC_Action.ALLOW], 'Istio order: DENY, then ALLOW');
  assert.deepEqual(rbacHttpFilters(both, true).map((f) => f.name), [`${RBAC_FILTER}.DENY`, `${RBAC_FILTER}.ALLOW`], 'gRPC refuses duplicate names');

  const ignored = inboundRbac([policy('apps', 'audit', { action: 'AUDIT', rules: [{}] })], TARGET, MESH);
  assert.deepEqual(ignored, {}, 'AUDIT is not enforced');
  // Issue 11: there is no external authorizer to ask, so a CUSTOM policy denies every request to what it selects (Istio: a CUSTOM policy whose provider cannot be used becomes deny-all).
  const custom = inboundRbac([policy('apps', 'custom', { action: 'CUSTOM', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] })], TARGET, MESH);
  assert.equal(custom.allow, undefined);
  assert.equal(custom.deny?.rules?.action, RBAC_Action.DENY);
  assert.deepEqual(policiesJson(custom.deny), { 'ns[apps]-policy[custom]-deny-all': { permissions: [{ any: true }], principals: [{ any: true }] } });
});

/** Issue 11: prefix and suffix principals also require a well-formed identity (segment-exact). */
const WELL_FORMED = { authenticated: { principalName: { safeRegex: { regex: 'spiffe://[^/]+/ns/[^/]+/sa/[^/]+' } } } };

test('from: principals (exact, prefix, suffix, *) with the spiffe:// prefix, namespaces as a regex, serviceAccounts with the trust domain, not* negated', () => {
  const rbac = inboundRbac(
    [
      policy('apps', 'p', {
        rules: [
          { from: [{ source: { principals: ['td.local/ns/a/sa/b', 'td.local/ns/x/*', '*/sa/c', '*'] } }] },
          { from: [{ source: { namespaces: ['team-a'], notPrincipals: ['td.local/ns/team-a/sa/bad'] } }] },
          { from: [{ source: { serviceAccounts: ['ns1/sa1'] } }, { source: { ipBlocks: ['10.0.0.0/8'], remoteIpBlocks: ['192.168.1.1'] } }] },
        ],
      }),
    ],
    TARGET,
    MESH,
  );
  assert.deepEqual(policiesJson(rbac.allow), {
    'ns[apps]-policy[p]-rule[0]': {
      permissions: [{ any: true }],
      principals: [
        {
          orIds: {
            ids: [
              { authenticated: { principalName: { exact: 'spiffe://td.local/ns/a/sa/b' } } },
              { andIds: { ids: [{ authenticated: { principalName: { prefix: 'spiffe://td.local/ns/x/' } } }, WELL_FORMED] } },
              { andIds: { ids: [{ authenticated: { principalName: { suffix: '/sa/c' } } }, WELL_FORMED] } },
              { authenticated: { principalName: { safeRegex: { regex: '.+' } } } },
            ],
          },
        },
      ],
    },
    'ns[apps]-policy[p]-rule[1]': {
      permissions: [{ any: true }],
      principals: [
        {
          andIds: {
            ids: [
              { authenticated: { principalName: { safeRegex: { regex: 'spiffe://[^/]+/ns/team-a/sa/[^/]+' } } } },
              { notId: { authenticated: { principalName: { exact: 'spiffe://td.local/ns/team-a/sa/bad' } } } },
            ],
          },
        },
      ],
    },
    'ns[apps]-policy[p]-rule[2]': {
      permissions: [{ any: true }],
      principals: [
        {
          orIds: {
            ids: [
              { authenticated: { principalName: { exact: 'spiffe://td.local/ns/ns1/sa/sa1' } } },
              { andIds: { ids: [{ directRemoteIp: { addressPrefix: '10.0.0.0', prefixLen: 8 } }, { remoteIp: { addressPrefix: '192.168.1.1', prefixLen: 32 } }] } },
            ],
          },
        },
      ],
    },
  });
});

test('to: paths -> url_path, methods -> :method, ports -> destination_port, hosts -> :authority (case-insensitive), notPaths negated', () => {
  const rbac = inboundRbac(
    [policy('apps', 'p', { rules: [{ to: [{ operation: { paths: ['/pkg.Svc/Get', '/pkg.Admin/*'], methods: ['POST'], ports: ['8080'], hosts: ['echo.apps.test'], notPaths: ['*/Delete'] } }] }] })],
    TARGET,
    MESH,
  );
  assert.deepEqual(policiesJson(rbac.allow)['ns[apps]-policy[p]-rule[0]'], {
    permissions: [
      {
        andRules: {
          rules: [
            { orRules: { rules: [{ urlPath: { path: { exact: '/pkg.Svc/Get' } } }, { urlPath: { path: { prefix: '/pkg.Admin/' } } }] } },
            { header: { name: ':method', stringMatch: { exact: 'POST' } } },
            { destinationPort: 8080 },
            { header: { name: ':authority', stringMatch: { exact: 'echo.apps.test', ignoreCase: true } } },
            { notRule: { urlPath: { path: { suffix: '/Delete' } } } },
          ],
        },
      },
    ],
    principals: [{ any: true }],
  });
});

test('when: principal-side and permission-side keys; an unsupported key drops an ALLOW rule and is ignored in a DENY rule (Istio)', () => {
  const rule = {
    when: [
      { key: 'source.ip', values: ['10.1.0.0/16'] },
      { key: 'request.headers[x-team]', values: ['blue'], notValues: ['red'] },
      { key: 'destination.port', values: ['8080'] },
      { key: 'source.namespace', values: ['apps'] },
    ],
  };
  const rbac = inboundRbac([policy('apps', 'w', { rules: [rule] })], TARGET, MESH);
  assert.deepEqual(policiesJson(rbac.allow)['ns[apps]-policy[w]-rule[0]'], {
    permissions: [{ destinationPort: 8080 }],
    principals: [
      {
        andIds: {
          ids: [
            { directRemoteIp: { addressPrefix: '10.1.0.0', prefixLen: 16 } },
            { andIds: { ids: [{ header: { name: 'x-team', stringMatch: { exact: 'blue' } } }, { notId: { header: { name: 'x-team', stringMatch: { exact: 'red' } } } }] } },
            { authenticated: { principalName: { safeRegex: { regex: 'spiffe://[^/]+/ns/apps/sa/[^/]+' } } } },
          ],
        },
      },
    ],
  });

  const jwt = { from: [{ source: { principals: ['td.local/ns/a/sa/b'] } }], when: [{ key: 'request.auth.claims[group]', values: ['admin'] }] };
  const allow = inboundRbac([policy('apps', 'jwt', { action: 'ALLOW', rules: [jwt] })], TARGET, MESH);
  assert.deepEqual(policiesJson(allow.allow), {}, 'ALLOW: the rule can never match, it is dropped');
  const deny = inboundRbac([policy('apps', 'jwt', { action: 'DENY', rules: [jwt] })], TARGET, MESH);
  assert.deepEqual(policiesJson(deny.deny)['ns[apps]-policy[jwt]-rule[0]'], {
    permissions: [{ any: true }],
    principals: [{ authenticated: { principalName: { exact: 'spiffe://td.local/ns/a/sa/b' } } }],
  }, 'DENY: the rule is kept without the attribute (denies more)');
  const denyRequestPrincipal = inboundRbac([policy('apps', 'rp', { action: 'DENY', rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] })], TARGET, MESH);
  assert.deepEqual(policiesJson(denyRequestPrincipal.deny)['ns[apps]-policy[rp]-rule[0]'], { permissions: [{ any: true }], principals: [{ any: true }] });
});

test('layer tcp (network RBAC, Istio TCP builder): HTTP-only attributes (hosts, methods, paths, request.headers) drop an ALLOW rule and are ignored by a DENY rule; connection attributes stay', () => {
  const rules = [
    { from: [{ source: { principals: ['td.local/ns/apps/sa/a'] } }], to: [{ operation: { ports: ['5432'] } }] },
    { to: [{ operation: { notPaths: ['/x'] } }] },
    { when: [{ key: 'request.headers[x-user]', values: ['bob'] }] },
  ];
  const tcpAllow = inboundRbac([policy('apps', 'a', { rules })], TARGET, MESH, 'tcp');
  assert.deepEqual(Object.keys(policiesJson(tcpAllow.allow)), ['ns[apps]-policy[a]-rule[0]'], 'only the rule without HTTP attributes is kept');
  const httpAllow = inboundRbac([policy('apps', 'a', { rules })], TARGET, MESH);
  assert.equal(Object.keys(policiesJson(httpAllow.allow)).length, 3);

  const tcpDeny = inboundRbac([policy('apps', 'd', { action: 'DENY', rules })], TARGET, MESH, 'tcp');
  const deny = policiesJson(tcpDeny.deny);
  assert.equal(Object.keys(deny).length, 3, 'DENY keeps every rule');
  assert.deepEqual(deny['ns[apps]-policy[d]-rule[1]'], { permissions: [{ any: true }], principals: [{ any: true }] }, 'without its path condition the rule denies every connection');
  assert.deepEqual(deny['ns[apps]-policy[d]-rule[2]'], { permissions: [{ any: true }], principals: [{ any: true }] }, 'without its header condition too');
  assert.deepEqual(deny['ns[apps]-policy[d]-rule[0]'], { permissions: [{ destinationPort: 5432 }], principals: [{ authenticated: { principalName: { exact: 'spiffe://td.local/ns/apps/sa/a' } } }] });
});

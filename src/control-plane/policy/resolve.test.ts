import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthorizationPolicy, NetworkAuthentication, Server } from '../../core/api/policy.ts';
import type { WorkloadInfo } from '../destination/workloads.ts';
import { isCidr, type NamespacePolicy, type PolicyOptions, resolvePortPolicy } from './resolve.ts';

const options: PolicyOptions = {
  defaultPolicy: 'deny',
  clusterNetworks: ['10.0.0.0/8'],
  trustDomain: 'cluster.local',
  controlPlaneNamespace: 'strait',
};

const web: WorkloadInfo = {
  kind: 'Workload',
  namespace: 'shop',
  name: 'web-1',
  serviceAccount: 'web',
  meshed: true,
  inboundPort: 4143,
  ips: ['127.1.0.5'],
  ports: [{ name: 'http', port: 8080 }],
  labels: { app: 'web' },
  annotations: {},
};

function server(
  name: string,
  port: number | string,
  extra: Partial<Server['spec']> = {},
  created = '2026-01-01T00:00:00Z',
): Server {
  return {
    apiVersion: 'policy.strait.io/v1beta1',
    kind: 'Server',
    metadata: { name, namespace: 'shop', creationTimestamp: created },
    spec: { podSelector: { matchLabels: { app: 'web' } }, port, ...extra },
  };
}

function namespace(partial: Partial<NamespacePolicy>): NamespacePolicy {
  return {
    servers: [],
    authorizationPolicies: [],
    meshTLSAuthentications: new Map(),
    networkAuthentications: new Map(),
    ...partial,
  };
}

test('without a Server the configured default applies; cluster policies carry the cluster networks', () => {
  assert.deepEqual(resolvePortPolicy(web, 8080, undefined, options).authorizations, []);
  const cluster = resolvePortPolicy(web, 8080, undefined, {
    ...options,
    defaultPolicy: 'cluster-authenticated',
  });
  assert.equal(cluster.name, 'default:cluster-authenticated');
  assert.deepEqual(
    cluster.authorizations[0]?.networks.map((n) => n.net),
    ['10.0.0.0/8'],
  );
  assert.equal(cluster.authorizations[0]?.authentication?.permit.case, 'meshTlsAny');
});

test('the oldest matching Server wins; a Server for another port or selector does not apply', () => {
  const policy = namespace({
    servers: [
      server('newer', 8080, { proxyProtocol: 'gRPC' }, '2026-02-01T00:00:00Z'),
      server('older', 'http', { proxyProtocol: 'opaque', accessPolicy: 'all-authenticated' }),
      server('other-port', 9090),
      { ...server('other-app', 8080), spec: { podSelector: { matchLabels: { app: 'db' } }, port: 8080 } },
    ],
  });
  const resolved = resolvePortPolicy(web, 8080, policy, options);
  assert.equal(resolved.name, 'older');
  assert.equal(resolved.protocol?.kind.case, 'opaque');
  assert.equal(resolved.authorizations[0]?.authentication?.permit.case, 'meshTlsAny');
});

test('namespace-wide policies apply; unresolved references and bad networks admit nobody extra', () => {
  const network: NetworkAuthentication = {
    apiVersion: 'policy.strait.io/v1alpha1',
    kind: 'NetworkAuthentication',
    metadata: { name: 'nets', namespace: 'shop' },
    spec: {
      networks: [
        { cidr: '192.168.0.0/16' },
        { cidr: '300.1.1.1/8' },
        { cidr: 'fd00::/8', except: ['bogus'] },
      ],
    },
  };
  const authz = (
    name: string,
    target: { kind: string; name: string },
    refs: { kind: string; name: string }[],
  ): AuthorizationPolicy => ({
    apiVersion: 'policy.strait.io/v1alpha1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: 'shop' },
    spec: { targetRef: target, requiredAuthenticationRefs: refs },
  });
  const policy = namespace({
    servers: [server('web-http', 8080)],
    networkAuthentications: new Map([['nets', network]]),
    authorizationPolicies: [
      authz('whole-namespace', { kind: 'Namespace', name: 'shop' }, [
        { kind: 'NetworkAuthentication', name: 'nets' },
      ]),
      authz('dangling', { kind: 'Server', name: 'web-http' }, [
        { kind: 'MeshTLSAuthentication', name: 'missing' },
      ]),
      authz('by-sa', { kind: 'Server', name: 'web-http' }, [{ kind: 'ServiceAccount', name: 'batch' }]),
    ],
  });
  const resolved = resolvePortPolicy(web, 8080, policy, options);
  assert.deepEqual(
    resolved.authorizations.map((a) => a.name),
    ['authorizationpolicy:by-sa', 'authorizationpolicy:whole-namespace'],
  );
  assert.deepEqual(
    resolved.authorizations[1]?.networks.map((n) => [n.net, n.except]),
    [
      ['192.168.0.0/16', []],
      ['fd00::/8', []],
    ],
  );
  const permit = resolved.authorizations[0]?.authentication?.permit;
  assert.deepEqual(permit?.case === 'meshTls' && permit.value.identities, [
    'batch.shop.serviceaccount.identity.strait.cluster.local',
  ]);
});

test('isCidr accepts addresses and prefixes of both families only', () => {
  for (const ok of ['10.0.0.0/8', '10.1.2.3', '::/0', 'fd00::/8']) assert.ok(isCidr(ok), ok);
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'x/8', '10.0.0.0/8/1', '10.0.0.0/', ''])
    assert.ok(!isCidr(bad), bad);
});

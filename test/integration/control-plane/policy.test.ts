import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { type PolicyServiceHandle, startPolicyService } from '../../../src/control-plane/policy/start.ts';
import type { Workload } from '../../../src/core/api/local.ts';
import type { Server } from '../../../src/core/api/policy.ts';
import { InboundPolicyService } from '../../../src/gen/strait/policy/v1/policy_pb.js';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { reader, testPki } from './helpers.ts';

const pki = testPki('strait-policy');
const POLICY = 'policy.strait.io/v1alpha1';

function workload(name: string, annotations: Record<string, string> = {}): Workload {
  return {
    apiVersion: 'local.strait.io/v1alpha1',
    kind: 'Workload',
    metadata: { name, namespace: 'shop', labels: { app: 'web' }, annotations },
    spec: {
      serviceAccountName: 'web',
      ports: [{ name: 'http', port: 8080 }],
      proxy: { inboundPort: 4143, outboundPort: 4140, adminPort: 4191 },
    },
  };
}

describe('policy service over mTLS against the local store', () => {
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  let policy: PolicyServiceHandle;
  let client: ReturnType<typeof createRpcClient<typeof InboundPolicyService>>;
  const abort = new AbortController();

  before(async () => {
    store = await openLocalStore({});
    await store.create(workload('web-1'));
    policy = await startPolicyService({ store, tls: pki.serverTls, port: 0 });
    client = createRpcClient(InboundPolicyService, pki.clientOptions(policy.port));
  });

  after(async () => {
    abort.abort();
    await policy.close();
    await store.close();
  });

  it('follows Servers, AuthorizationPolicies and authentications for a workload port', async () => {
    const stream = reader(client.watchPort({ workload: 'shop/web-1', port: 8080 }, { signal: abort.signal }));
    const initial = await stream.next('the default policy');
    assert.equal(initial.name, 'default:all-unauthenticated');
    assert.equal(initial.protocol?.kind.case, 'detect');
    assert.equal(initial.authorizations[0]?.authentication?.permit.case, 'unauthenticated');

    const server: Server = {
      apiVersion: 'policy.strait.io/v1beta1',
      kind: 'Server',
      metadata: { name: 'web-http', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'web' } }, port: 'http', proxyProtocol: 'HTTP/1' },
    };
    await store.create(server);
    const selected = await stream.next('the Server');
    assert.equal(selected.name, 'web-http');
    assert.equal(selected.protocol?.kind.case, 'http1');
    assert.deepEqual(selected.authorizations, [], 'a Server without AuthorizationPolicy admits nobody');

    await store.create({
      apiVersion: POLICY,
      kind: 'MeshTLSAuthentication',
      metadata: { name: 'callers', namespace: 'shop' },
      spec: {
        identities: ['client.shop.serviceaccount.identity.strait.cluster.local', '*.east.local'],
        identityRefs: [{ kind: 'ServiceAccount', name: 'batch' }],
      },
    });
    await store.create({
      apiVersion: POLICY,
      kind: 'NetworkAuthentication',
      metadata: { name: 'inside', namespace: 'shop' },
      spec: { networks: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }] },
    });
    await store.create({
      apiVersion: POLICY,
      kind: 'AuthorizationPolicy',
      metadata: { name: 'web-callers', namespace: 'shop' },
      spec: {
        targetRef: { group: 'policy.strait.io', kind: 'Server', name: 'web-http' },
        requiredAuthenticationRefs: [
          { group: 'policy.strait.io', kind: 'MeshTLSAuthentication', name: 'callers' },
          { group: 'policy.strait.io', kind: 'NetworkAuthentication', name: 'inside' },
        ],
      },
    });
    const authorized = await reader(
      client.watchPort({ workload: 'shop/web-1', port: 8080 }, { signal: abort.signal }),
    ).next('the authorized Server');
    const [authorization] = authorized.authorizations;
    assert.equal(authorization?.name, 'authorizationpolicy:web-callers');
    assert.deepEqual(
      authorization?.networks.map((n) => [n.net, n.except]),
      [['10.0.0.0/8', ['10.1.0.0/16']]],
    );
    const permit = authorization?.authentication?.permit;
    assert.equal(permit?.case, 'meshTls');
    if (permit?.case === 'meshTls') {
      assert.deepEqual(permit.value.identities, [
        'client.shop.serviceaccount.identity.strait.cluster.local',
        'batch.shop.serviceaccount.identity.strait.cluster.local',
      ]);
      assert.deepEqual(permit.value.suffixes, ['east.local']);
    }

    await store.delete({
      apiVersion: server.apiVersion,
      kind: 'Server',
      namespace: 'shop',
      name: 'web-http',
    });
    const back = await reader(
      client.watchPort({ workload: 'shop/web-1', port: 8080 }, { signal: abort.signal }),
    ).next('the default again');
    assert.equal(back.name, 'default:all-unauthenticated');
  });

  it('serves the default to a workload not registered yet, then its annotated default', async () => {
    const stream = reader(client.watchPort({ workload: 'shop/web-2', port: 8080 }, { signal: abort.signal }));
    assert.equal((await stream.next('the cluster default')).name, 'default:all-unauthenticated');
    await store.create(
      workload('web-2', { 'config.linkerd.io/default-inbound-policy': 'all-authenticated' }),
    );
    const annotated = await stream.next('the annotated default');
    assert.equal(annotated.name, 'default:all-authenticated');
    assert.equal(annotated.authorizations[0]?.authentication?.permit.case, 'meshTlsAny');
  });

  it('refuses a malformed port spec with InvalidArgument and keeps serving', async () => {
    for (const spec of [
      { workload: 'web-1', port: 8080 },
      { workload: 'shop/web-1', port: 0 },
    ]) {
      await assert.rejects(
        (async () => {
          for await (const _ of client.watchPort(spec, { signal: abort.signal })) break;
        })(),
        (error: unknown) =>
          error instanceof ConnectError &&
          error.code === Code.InvalidArgument &&
          error.message.includes('E_POLICY_PORT_SPEC'),
      );
    }
    const ok = await reader(
      client.watchPort({ workload: 'shop/web-1', port: 9090 }, { signal: abort.signal }),
    ).next('a policy');
    assert.equal(ok.name, 'default:all-unauthenticated');
  });

  it('refuses an unknown default policy at start', async () => {
    await assert.rejects(
      startPolicyService({ store, tls: pki.serverTls, port: 0, defaultPolicy: 'open' as 'deny' }),
      (error: unknown) => error instanceof Error && (error as { code?: string }).code === 'E_POLICY_CONFIG',
    );
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDestinationService } from '../../../src/control-plane/destination/start.ts';
import { startPolicyService } from '../../../src/control-plane/policy/start.ts';
import { SharedInformer } from '../../../src/control-plane/runtime/index.ts';
import type { Workload } from '../../../src/core/api/local.ts';
import { type KindRef, kindKey } from '../../../src/core/resource.ts';
import { DestinationService } from '../../../src/gen/strait/destination/v1/destination_pb.js';
import { InboundPolicyService } from '../../../src/gen/strait/policy/v1/policy_pb.js';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { reader, testPki } from './helpers.ts';

test('destination and policy in one process share one informer per kind', async () => {
  const store = await openLocalStore({});
  const informers = new Map<string, SharedInformer>();
  const source = (kind: KindRef) => {
    let informer = informers.get(kindKey(kind));
    if (!informer) {
      informer = new SharedInformer(store, kind);
      informers.set(kindKey(kind), informer);
    }
    return informer;
  };
  const pki = testPki('strait-destination');
  const abort = new AbortController();
  const destination = await startDestinationService({
    store,
    tls: pki.serverTls,
    port: 0,
    informers: source,
  });
  const policy = await startPolicyService({ store, tls: pki.serverTls, port: 0, informers: source });
  try {
    assert.deepEqual(
      [...informers.keys()].filter((k) => k.endsWith('/Workload') || k.endsWith('/Pod')).sort(),
      ['local.strait.io/v1alpha1/Workload', 'v1/Pod'],
    );
    const destinations = createRpcClient(DestinationService, pki.clientOptions(destination.port));
    const policies = createRpcClient(InboundPolicyService, pki.clientOptions(policy.port));
    const endpoint = reader(destinations.get({ path: '127.1.0.9:8080' }, { signal: abort.signal }));
    const port = reader(policies.watchPort({ workload: 'shop/api-1', port: 8080 }, { signal: abort.signal }));
    const plain = await endpoint.next('the unmeshed endpoint');
    assert.equal(plain.update.case === 'add' && plain.update.value.addrs[0]?.tlsIdentity, '');
    assert.equal((await port.next('the default policy')).name, 'default:all-unauthenticated');

    await store.create({
      apiVersion: 'local.strait.io/v1alpha1',
      kind: 'Workload',
      metadata: {
        name: 'api-1',
        namespace: 'shop',
        annotations: { 'config.strait.io/default-inbound-policy': 'deny' },
      },
      spec: {
        serviceAccountName: 'api',
        ports: [{ port: 8080 }],
        address: '127.1.0.9',
        proxy: { inboundPort: 4143, outboundPort: 4140, adminPort: 4191 },
      },
    } satisfies Workload);
    const meshed = await endpoint.next('the endpoint, now meshed');
    assert.equal(
      meshed.update.case === 'add' && meshed.update.value.addrs[0]?.tlsIdentity,
      'api.shop.serviceaccount.identity.strait.cluster.local',
    );
    assert.equal((await port.next('the annotated default')).name, 'default:deny');
  } finally {
    abort.abort();
    await destination.close();
    await policy.close();
    await Promise.all([...informers.values()].map((informer) => informer.stop()));
    await store.close();
  }
});

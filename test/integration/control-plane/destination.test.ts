import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  type DestinationServiceHandle,
  startDestinationService,
} from '../../../src/control-plane/destination/start.ts';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import type { Workload } from '../../../src/core/api/local.ts';
import { DestinationService, type Update } from '../../../src/gen/strait/destination/v1/destination_pb.js';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { reader, testPki } from './helpers.ts';

const pki = testPki('strait-destination');
const WEB_ID = 'web.shop.serviceaccount.identity.strait.cluster.local';

function workload(name: string, ip: string): Workload {
  return {
    apiVersion: 'local.strait.io/v1alpha1',
    kind: 'Workload',
    metadata: { name, namespace: 'shop' },
    spec: {
      serviceAccountName: 'web',
      ports: [{ name: 'http', port: 8080 }],
      address: ip,
      proxy: { inboundPort: 14143, outboundPort: 4140, adminPort: 4191 },
    },
  };
}

function endpoints(name: string, ready: [string, string][], notReady: [string, string][] = []): Endpoints {
  const address = ([ip, wl]: [string, string]) => ({
    ip,
    targetRef: { kind: 'Workload', name: wl, namespace: 'shop' },
  });
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'shop' },
    subsets: [
      {
        addresses: ready.map(address),
        notReadyAddresses: notReady.map(address),
        ports: [{ name: 'http', port: 8080 }],
      },
    ],
  };
}

function ips(update: Update): string[] {
  if (update.update.case === 'add')
    return update.update.value.addrs.map((a) => `${a.addr?.ip}:${a.addr?.port}`).sort();
  if (update.update.case === 'remove')
    return update.update.value.addrs.map((a) => `${a.ip}:${a.port}`).sort();
  return [];
}

describe('destination service over mTLS against the local store', () => {
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  let destination: DestinationServiceHandle;
  let client: ReturnType<typeof createRpcClient<typeof DestinationService>>;
  const abort = new AbortController();

  before(async () => {
    store = await openLocalStore({});
    const service: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    };
    await store.create(service);
    await store.create(workload('web-1', '127.1.0.5'));
    await store.create(workload('web-2', '127.1.0.6'));
    await store.create(endpoints('web', [['127.1.0.5', 'web-1']], [['127.1.0.6', 'web-2']]));
    destination = await startDestinationService({ store, tls: pki.serverTls, port: 0 });
    client = createRpcClient(DestinationService, pki.clientOptions(destination.port));
  });

  after(async () => {
    abort.abort();
    await destination.close();
    await store.close();
  });

  it('streams ready endpoints with identity, then pushes adds and removes to every stream of the target', async () => {
    const one = reader(client.get({ path: 'web.shop.svc.cluster.local:80' }, { signal: abort.signal }));
    const two = reader(client.get({ path: 'web.shop:80' }, { signal: abort.signal }));
    for (const stream of [one, two]) {
      const first = await stream.next('the snapshot');
      assert.equal(first.update.case, 'add');
      assert.deepEqual(ips(first), ['127.1.0.5:8080']);
      const addr = first.update.case === 'add' ? first.update.value.addrs[0] : undefined;
      assert.equal(addr?.tlsIdentity, WEB_ID);
      assert.equal(addr?.opaqueTransportPort, 14143);
      assert.equal(addr?.protocolHint?.protocol.case, 'h2');
      assert.deepEqual(first.update.case === 'add' && first.update.value.metricLabels, {
        namespace: 'shop',
        service: 'web',
      });
    }
    assert.equal(destination.watches.endpoints.size, 1, 'one shared watch for both streams');

    const current = await store.get<Endpoints>({
      apiVersion: 'v1',
      kind: 'Endpoints',
      namespace: 'shop',
      name: 'web',
    });
    await store.update({
      ...endpoints('web', [
        ['127.1.0.5', 'web-1'],
        ['127.1.0.6', 'web-2'],
      ]),
      metadata: current!.metadata,
    });
    for (const stream of [one, two]) {
      const added = await stream.next('an Add for the endpoint that became ready');
      assert.equal(added.update.case, 'add');
      assert.deepEqual(ips(added), ['127.1.0.6:8080']);
    }

    const again = await store.get<Endpoints>({
      apiVersion: 'v1',
      kind: 'Endpoints',
      namespace: 'shop',
      name: 'web',
    });
    await store.update({
      ...endpoints('web', [['127.1.0.6', 'web-2']], [['127.1.0.5', 'web-1']]),
      metadata: again!.metadata,
    });
    const removed = await one.next('a Remove');
    assert.equal(removed.update.case, 'remove');
    assert.deepEqual(ips(removed), ['127.1.0.5:8080']);
  });

  it('reports a service that does not exist yet, then its endpoints when it appears', async () => {
    const stream = reader(client.get({ path: 'late.shop.svc.cluster.local:80' }, { signal: abort.signal }));
    const first = await stream.next('NoEndpoints');
    assert.deepEqual(first.update.case === 'noEndpoints' && first.update.value.exists, false);
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'late', namespace: 'shop' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    const exists = await stream.next('NoEndpoints with exists');
    assert.deepEqual(exists.update.case === 'noEndpoints' && exists.update.value.exists, true);
    await store.create(endpoints('late', [['127.1.0.5', 'web-1']]));
    assert.deepEqual(ips(await stream.next('the first endpoint')), ['127.1.0.5:8080']);
  });

  it('resolves a mirror to the remote gateway with authority override, gateway identity and target_cluster', async () => {
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web-east',
        namespace: 'shop',
        labels: { 'mirror.strait.io/mirrored-service': 'true', 'mirror.strait.io/cluster-name': 'east' },
        annotations: {
          'mirror.strait.io/remote-svc-fq-name': 'web.shop.svc.east.local',
          'mirror.strait.io/remote-gateway-identity':
            'strait-gateway.strait-multicluster.serviceaccount.identity.strait.east.local',
        },
      },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    await store.create({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web-east', namespace: 'shop' },
      subsets: [{ addresses: [{ ip: '127.2.0.1' }], ports: [{ name: 'http', port: 4143 }] }],
    });
    const stream = reader(
      client.get({ path: 'web-east.shop.svc.cluster.local:80' }, { signal: abort.signal }),
    );
    const first = await stream.next('the gateway endpoint');
    assert.equal(first.update.case, 'add');
    if (first.update.case !== 'add') return;
    assert.equal(first.update.value.metricLabels.target_cluster, 'east');
    const [gateway] = first.update.value.addrs;
    assert.equal(`${gateway?.addr?.ip}:${gateway?.addr?.port}`, '127.2.0.1:4143');
    assert.equal(gateway?.authorityOverride, 'web.shop.svc.east.local:80');
    assert.equal(
      gateway?.tlsIdentity,
      'strait-gateway.strait-multicluster.serviceaccount.identity.strait.east.local',
    );
    assert.equal(gateway?.opaqueTransportPort, 4143);
  });

  it("serves a Service's cluster IP as that Service: a mirror's, once assigned, resolves to the remote gateway", async () => {
    const stream = reader(client.get({ path: '10.96.0.20:80' }, { signal: abort.signal }));
    assert.deepEqual(ips(await stream.next('the address itself')), ['10.96.0.20:80']);
    const mirror = await store.get<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      namespace: 'shop',
      name: 'web-east',
    });
    await store.update({ ...mirror!, spec: { ...mirror!.spec, clusterIP: '10.96.0.20' } });
    const updates = [await stream.next('a first update'), await stream.next('a second update')];
    assert.deepEqual(updates.map((u) => u.update.case).sort(), ['add', 'remove']);
    const added = updates.find((u) => u.update.case === 'add');
    const gateway = added?.update.case === 'add' ? added.update.value.addrs[0] : undefined;
    assert.equal(`${gateway?.addr?.ip}:${gateway?.addr?.port}`, '127.2.0.1:4143');
    assert.equal(gateway?.authorityOverride, 'web.shop.svc.east.local:80');
    const profile = await reader(client.getProfile({ path: '10.96.0.20:80' }, { signal: abort.signal })).next(
      'the profile',
    );
    assert.equal(profile.fullyQualifiedName, 'web-east.shop.svc.cluster.local');
  });

  it('serves an IP target as that workload, meshed', async () => {
    const stream = reader(client.get({ path: '127.1.0.6:8080' }, { signal: abort.signal }));
    const first = await stream.next('the endpoint');
    const addr = first.update.case === 'add' ? first.update.value.addrs[0] : undefined;
    assert.equal(addr?.tlsIdentity, WEB_ID);
    assert.equal(addr?.opaqueTransportPort, 14143);
    const profile = await reader(
      client.getProfile({ path: '127.1.0.6:8080' }, { signal: abort.signal }),
    ).next('the profile');
    assert.equal(profile.endpoint?.tlsIdentity, WEB_ID);
  });

  it('drops the watch of a target when its last stream is cancelled', async () => {
    const before = destination.watches.endpoints.size;
    const cancel = new AbortController();
    const stream = reader(client.get({ path: 'web.shop.svc.cluster.local:8080' }, { signal: cancel.signal }));
    await stream.next('the snapshot');
    assert.equal(destination.watches.endpoints.size, before + 1);
    cancel.abort();
    // The cancel travels to the server as an HTTP/2 reset; on a loaded machine that can take seconds.
    const deadline = Date.now() + 60_000;
    while (destination.watches.endpoints.size !== before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal(destination.watches.endpoints.size, before);
  });

  it('refuses a malformed target with InvalidArgument and a reason, and keeps serving', async () => {
    for (const path of ['no-port', 'web.shop.svc.elsewhere.example:80', 'web.shop:99999']) {
      await assert.rejects(
        (async () => {
          for await (const _ of client.get({ path }, { signal: abort.signal })) break;
        })(),
        (error: unknown) =>
          error instanceof ConnectError &&
          error.code === Code.InvalidArgument &&
          error.message.includes('E_DESTINATION_TARGET'),
        path,
      );
    }
    const ok = await reader(client.get({ path: 'web.shop:80' }, { signal: abort.signal })).next(
      'a snapshot after bad requests',
    );
    assert.equal(ok.update.case, 'add');
  });
});

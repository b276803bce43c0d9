import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { SeverableStore } from '../../../src/control-plane/runtime/test-support.ts';
import { findCondition } from '../../../src/core/api/conditions.ts';
import type { Event, Service } from '../../../src/core/api/core.ts';
import type { ResourceStore } from '../../../src/core/store.ts';
import { LinkManager } from '../../../src/multicluster/service-mirror/link-manager.ts';
import { MirrorMetrics } from '../../../src/multicluster/service-mirror/metrics.ts';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import {
  credentials,
  endpoints,
  eventually,
  GATEWAY_IDENTITY,
  getEndpoints,
  getLink,
  getService,
  link,
  mirrorNames,
  namespace,
  service,
} from './fixtures.ts';

interface World {
  west: ResourceStore;
  east: ResourceStore;
  eastApi: SeverableStore;
  manager: LinkManager;
  metrics: MirrorMetrics;
}

const running: LinkManager[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.stop()));
});

async function world(
  options: {
    link?: ReturnType<typeof link>;
    probe?: boolean;
    beforeStart?: (w: Omit<World, 'manager'>) => Promise<void>;
  } = {},
): Promise<World> {
  const west = await openLocalStore({});
  const east = await openLocalStore({});
  const eastApi = new SeverableStore(east);
  for (const ns of ['strait-multicluster', 'shop']) await west.create(namespace(ns));
  await east.create(namespace('shop'));
  await west.create(credentials());
  await west.create(options.link ?? link());
  const metrics = new MirrorMetrics();
  await options.beforeStart?.({ west, east, eastApi, metrics });
  const manager = new LinkManager({
    local: west,
    namespace: 'strait-multicluster',
    remoteStore: () => eastApi,
    metrics,
    probe: options.probe ?? false,
    controller: { retryMs: 20 },
    ...(process.env.MC_DEBUG ? { log: (line: string) => console.error(line) } : {}),
  });
  running.push(manager);
  manager.start();
  return { west, east, eastApi, manager, metrics };
}

describe('service mirror', () => {
  it('mirrors an exported service as <svc>-<cluster> with endpoints at the gateway', async () => {
    const { west, east, metrics } = await world();
    await east.create(service('backend', { ports: [8080, 9090] }));
    await east.create(endpoints('backend', [{ ip: '10.1.0.4' }]));
    await east.create(service('internal', { exported: false }));
    const mirror = await eventually(async () => {
      const found = await getService(west, 'backend-east');
      assert.ok(found);
      return found;
    });
    assert.equal(mirror.spec?.selector, undefined);
    assert.deepEqual(
      mirror.spec?.ports.map((p) => p.port),
      [8080, 9090],
    );
    assert.equal(mirror.metadata.labels?.['mirror.strait.io/mirrored-service'], 'true');
    assert.equal(mirror.metadata.labels?.['mirror.strait.io/cluster-name'], 'east');
    assert.equal(
      mirror.metadata.annotations?.['mirror.strait.io/remote-svc-fq-name'],
      'backend.shop.svc.cluster.local',
    );
    assert.equal(mirror.metadata.annotations?.['mirror.strait.io/remote-gateway-identity'], GATEWAY_IDENTITY);
    const eps = await eventually(async () => {
      const found = await getEndpoints(west, 'backend-east');
      assert.deepEqual(found?.subsets?.[0]?.addresses, [{ ip: '127.0.0.1' }]);
      return found;
    });
    assert.deepEqual(
      eps?.subsets?.[0]?.ports?.map((p) => [p.name, p.port]),
      [
        ['p8080', 4143],
        ['p9090', 4143],
      ],
    );
    assert.equal(await getService(west, 'internal-east'), undefined);
    await eventually(() =>
      assert.match(metrics.render(), /mirrored_services\{target_cluster_name="east"\} 1/),
    );
    assert.match(metrics.render(), /mirror_propagation_seconds_count\{target_cluster_name="east"\} [1-9]/);
    await eventually(async () => {
      const status = (await getLink(west))?.status;
      assert.equal(status?.mirroredServices, 1);
      assert.equal(findCondition(status?.conditions, 'Synced')?.status, 'True');
      assert.ok(status?.lastSuccessfulSync);
    });
  });

  it('follows updates, un-export, re-export and deletion on the target', async () => {
    const { west, east } = await world();
    const created = await east.create(service('backend'));
    await eventually(async () => assert.ok(await getService(west, 'backend-east')));

    await east.update({
      ...created,
      spec: { ...created.spec, ports: [{ name: 'grpc', port: 9000 }] },
    } as Service);
    await eventually(async () =>
      assert.deepEqual(
        (await getService(west, 'backend-east'))?.spec?.ports.map((p) => p.port),
        [9000],
      ),
    );

    const current = (await getService(east, 'backend')) as Service;
    await east.update({ ...current, metadata: { ...current.metadata, labels: { app: 'backend' } } });
    await eventually(async () => assert.equal(await getService(west, 'backend-east'), undefined));
    assert.equal(await getEndpoints(west, 'backend-east'), undefined);

    const again = (await getService(east, 'backend')) as Service;
    await east.update({
      ...again,
      metadata: { ...again.metadata, labels: { app: 'backend', 'mirror.linkerd.io/exported': 'true' } },
    });
    await eventually(async () => assert.ok(await getService(west, 'backend-east')));

    await east.delete({ apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'backend' });
    await eventually(async () => assert.deepEqual(await mirrorNames(west), []));
  });

  it('reports a missing namespace and mirrors once the namespace exists', async () => {
    const { west, east } = await world();
    await east.create(namespace('billing'));
    await east.create(service('ledger', { namespace: 'billing' }));
    await eventually(async () => {
      const condition = findCondition((await getLink(west))?.status?.conditions, 'Mirrored');
      assert.equal(condition?.status, 'False');
      assert.equal(condition?.reason, 'MissingNamespace');
      assert.match(condition?.message ?? '', /billing\/ledger/);
    });
    const events = await west.list<Event>(
      { apiVersion: 'v1', kind: 'Event' },
      { namespace: 'strait-multicluster' },
    );
    assert.ok(
      events.items.some((e) => e.reason === 'ServiceMirroringSkipped' && /namespace billing/.test(e.message)),
    );

    await west.create(namespace('billing'));
    await eventually(async () => assert.ok(await getService(west, 'ledger-east', 'billing')));
    await eventually(async () => {
      const condition = findCondition((await getLink(west))?.status?.conditions, 'Mirrored');
      assert.equal(condition?.status, 'True');
    });
  });

  it('removes every mirror of a Link when the Link is deleted', async () => {
    const { west, east } = await world();
    await east.create(service('a'));
    await east.create(service('b'));
    await eventually(async () => assert.deepEqual(await mirrorNames(west), ['shop/a-east', 'shop/b-east']));
    await west.delete({
      apiVersion: 'multicluster.strait.io/v1alpha1',
      kind: 'Link',
      namespace: 'strait-multicluster',
      name: 'east',
    });
    await eventually(async () => assert.deepEqual(await mirrorNames(west), []));
    const leftover = await west.list(
      { apiVersion: 'v1', kind: 'Endpoints' },
      { labelSelector: 'mirror.strait.io/cluster-name=east' },
    );
    assert.deepEqual(leftover.items, []);
  });

  it('collects orphaned mirrors at start-up and keeps the ones still exported', async () => {
    let keptUid: string | undefined;
    const { west } = await world({
      beforeStart: async ({ west, east }) => {
        await east.create(service('kept'));
        const mirrorOf = (name: string): Service => ({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {
            name: `${name}-east`,
            namespace: 'shop',
            labels: { 'mirror.strait.io/mirrored-service': 'true', 'mirror.strait.io/cluster-name': 'east' },
            annotations: { 'mirror.strait.io/remote-svc-fq-name': `${name}.shop.svc.cluster.local` },
          },
          spec: { ports: [{ name: 'p8080', port: 8080 }] },
        });
        keptUid = (await west.create(mirrorOf('kept'))).metadata.uid;
        await west.create(mirrorOf('gone'));
        const stranger = mirrorOf('other');
        stranger.metadata.labels = { ...stranger.metadata.labels, 'mirror.strait.io/cluster-name': 'north' };
        stranger.metadata.name = 'other-north';
        await west.create(stranger);
      },
    });
    await eventually(async () => assert.deepEqual(await mirrorNames(west), ['shop/kept-east']));
    assert.equal((await getService(west, 'kept-east'))?.metadata.uid, keptUid);
    // Mirrors of a cluster that no Link points to are collected too.
    await eventually(async () => assert.deepEqual(await mirrorNames(west, 'north'), []));
  });

  it('mirrors a headless service with one endpoint mirror per pod', async () => {
    const { west, east } = await world();
    await east.create(service('db', { headless: true }));
    await east.create(
      endpoints('db', [
        { ip: '10.1.0.4', hostname: 'db-0' },
        { ip: '10.1.0.5', hostname: 'db-1' },
      ]),
    );
    await eventually(async () =>
      assert.deepEqual(await mirrorNames(west), ['shop/db-0-east', 'shop/db-1-east', 'shop/db-east']),
    );
    const headless = await getService(west, 'db-east');
    assert.equal(headless?.spec?.clusterIP, 'None');
    const pod = await getService(west, 'db-0-east');
    assert.equal(
      pod?.metadata.annotations?.['mirror.strait.io/remote-svc-fq-name'],
      'db-0.db.shop.svc.cluster.local',
    );
    assert.equal(pod?.metadata.labels?.['mirror.strait.io/headless-mirror-svc-name'], 'db-east');
    assert.deepEqual((await getEndpoints(west, 'db-0-east'))?.subsets?.[0]?.addresses, [{ ip: '127.0.0.1' }]);

    // A pod going away removes its endpoint mirror.
    const current = await getEndpoints(east, 'db');
    await east.update({
      ...current,
      subsets: [{ addresses: [{ ip: '10.1.0.4', hostname: 'db-0' }], ports: [{ port: 8080 }] }],
    } as never);
    await eventually(async () =>
      assert.deepEqual(await mirrorNames(west), ['shop/db-0-east', 'shop/db-east']),
    );
  });

  it('keeps mirrors while the target is unreachable, marks them stale, and resyncs without duplicates', async () => {
    const { west, east, eastApi } = await world();
    await east.create(service('stays'));
    await east.create(service('leaves'));
    await eventually(async () =>
      assert.deepEqual(await mirrorNames(west), ['shop/leaves-east', 'shop/stays-east']),
    );
    const uid = (await getService(west, 'stays-east'))?.metadata.uid;

    eastApi.cut();
    await eventually(async () => {
      const condition = findCondition((await getLink(west))?.status?.conditions, 'Synced');
      assert.equal(condition?.status, 'False');
      assert.equal(condition?.reason, 'RemoteUnreachable');
      assert.match(condition?.message ?? '', /2 mirrors kept and may be stale/);
    });
    // Changes on the target while the link is down.
    await east.delete({ apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'leaves' });
    await east.create(service('arrives'));
    assert.deepEqual(await mirrorNames(west), ['shop/leaves-east', 'shop/stays-east']);

    eastApi.restore();
    await eventually(async () =>
      assert.deepEqual(await mirrorNames(west), ['shop/arrives-east', 'shop/stays-east']),
    );
    await eventually(async () => {
      const condition = findCondition((await getLink(west))?.status?.conditions, 'Synced');
      assert.equal(condition?.status, 'True');
    });
    assert.equal((await getService(west, 'stays-east'))?.metadata.uid, uid);
  });

  it('marks mirror endpoints not ready when the gateway probe fails, and ready when it recovers', async () => {
    const answer = (server: Server) =>
      server.on('request', (req, res) => res.writeHead(req.url === '/ready' ? 200 : 404).end('ready\n'));
    let gateway = createServer();
    answer(gateway);
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const port = (gateway.address() as AddressInfo).port;
    const { west, east, metrics } = await world({
      probe: true,
      link: link({
        probeSpec: { path: '/ready', port, period: '100ms', timeout: '500ms', failureThreshold: 2 },
      }),
    });
    await east.create(service('backend'));
    await east.create(endpoints('backend', [{ ip: '10.1.0.4' }]));
    await eventually(async () =>
      assert.deepEqual((await getEndpoints(west, 'backend-east'))?.subsets?.[0]?.addresses, [
        { ip: '127.0.0.1' },
      ]),
    );
    await eventually(() => assert.match(metrics.render(), /gateway_alive\{target_cluster_name="east"\} 1/));
    assert.match(metrics.render(), /gateway_probe_latency_ms_count\{target_cluster_name="east"\} [1-9]/);

    gateway.closeAllConnections();
    await new Promise((resolve) => gateway.close(resolve));
    await eventually(async () => {
      const subset = (await getEndpoints(west, 'backend-east'))?.subsets?.[0];
      assert.deepEqual(subset?.notReadyAddresses, [{ ip: '127.0.0.1' }]);
      assert.equal(subset?.addresses, undefined);
    });
    assert.match(metrics.render(), /gateway_alive\{target_cluster_name="east"\} 0/);
    await eventually(async () => assert.equal((await getLink(west))?.status?.gatewayAlive, false));

    gateway = createServer();
    answer(gateway);
    await new Promise<void>((resolve) => gateway.listen(port, '127.0.0.1', resolve));
    await eventually(async () =>
      assert.deepEqual((await getEndpoints(west, 'backend-east'))?.subsets?.[0]?.addresses, [
        { ip: '127.0.0.1' },
      ]),
    );
    gateway.closeAllConnections();
    await new Promise((resolve) => gateway.close(resolve));
  });

  it('resolves gateway addresses given as names', async () => {
    const { west, east } = await world({ link: link({ gatewayAddress: 'localhost' }) });
    await east.create(service('backend'));
    await east.create(endpoints('backend', [{ ip: '10.1.0.4' }]));
    await eventually(async () => {
      const ips = (await getEndpoints(west, 'backend-east'))?.subsets?.[0]?.addresses?.map((a) => a.ip) ?? [];
      assert.ok(ips.includes('127.0.0.1'), `got ${ips.join(',')}`);
    });
  });

  it('reconnects with new credentials when the credentials Secret changes', async () => {
    const west = await openLocalStore({});
    const first = await openLocalStore({});
    const moved = await openLocalStore({});
    for (const ns of ['strait-multicluster', 'shop']) await west.create(namespace(ns));
    for (const store of [first, moved]) await store.create(namespace('shop'));
    await first.create(service('old'));
    await moved.create(service('new'));
    const secret = await west.create(credentials());
    await west.create(link());
    const manager = new LinkManager({
      local: west,
      namespace: 'strait-multicluster',
      // The credential decides which API the link reaches.
      remoteStore: (s) =>
        Buffer.from(s.data?.kubeconfig ?? '', 'base64')
          .toString()
          .includes('moved')
          ? moved
          : first,
      probe: false,
      controller: { retryMs: 20 },
    });
    running.push(manager);
    manager.start();
    await eventually(async () => assert.deepEqual(await mirrorNames(west), ['shop/old-east']));
    await west.update({ ...secret, data: { kubeconfig: Buffer.from('server: moved').toString('base64') } });
    await eventually(async () => assert.deepEqual(await mirrorNames(west), ['shop/new-east']));
  });
});

// The failover operator as its own process against a local cluster: a real control plane, a real
// workload whose Endpoints come from the platform, the operator process, and the CLI. The east
// mirror and its Link are written here the way the service mirror writes them.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Event } from '../../../src/core/api/core.ts';
import type { Link } from '../../../src/core/api/multicluster.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import {
  failoverSplitManifest,
  joinManifests,
  namespaceManifest,
  serviceManifest,
} from '../../fixtures/manifests.ts';
import { APP, FailoverHarness, lastFailback } from './harness.ts';

const manifests = joinManifests(
  namespaceManifest('shop'),
  namespaceManifest('strait-multicluster'),
  serviceManifest({ name: 'web', namespace: 'shop', ports: [{ port: 8080 }] }),
  serviceManifest({
    name: 'web-east',
    namespace: 'shop',
    labels: { 'mirror.strait.io/mirrored-service': 'true', 'mirror.strait.io/cluster-name': 'east' },
    selector: false,
    ports: [{ port: 8080 }],
  }),
  `apiVersion: v1
kind: Endpoints
metadata:
  name: web-east
  namespace: shop
  labels: {mirror.strait.io/mirrored-service: "true", mirror.strait.io/cluster-name: east}
subsets:
- addresses: [{ip: 127.0.0.50}]
  ports: [{port: 4143}]
---
apiVersion: multicluster.strait.io/v1alpha1
kind: Link
metadata: {name: east, namespace: strait-multicluster}
spec:
  targetClusterName: east
  targetClusterDomain: cluster.local
  clusterCredentialsSecret: cluster-credentials-east
  gatewayAddress: 127.0.0.50
  gatewayPort: 4143
  gatewayIdentity: strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local
  probeSpec: {path: /ready, port: 4191, period: 3s, failureThreshold: 3, timeout: 2s}`,
  failoverSplitManifest({
    namespace: 'shop',
    primary: 'web',
    secondary: 'web-east',
    controlledBy: 'standalone',
    settings: {
      'primary-service': 'web',
      'hold-down': '1s',
      'ramp-steps': '50,100',
      'ramp-step-interval': '1s',
    },
  }),
);

describe('failover operator process on a local cluster', { timeout: 600_000 }, () => {
  const cluster = new FailoverHarness('west');
  let backend: ChildProcess | undefined;
  const startBackend = () => {
    backend = cluster.run('web', 8080, [process.execPath, APP], { proxy: false, readyPath: '/ready' });
  };
  const setGateway = (alive: boolean) =>
    cluster.withStore(async (store) => {
      const link = (await store.get<Link>({
        ...Kinds.Link,
        namespace: 'strait-multicluster',
        name: 'east',
      })) as Link;
      await store.updateStatus({ ...link, status: { ...link.status, gatewayAlive: alive } });
    });

  before(async () => {
    await cluster.up(manifests);
    await setGateway(true);
    startBackend();
    await cluster.workloadAddress('web');
    await cluster.startOperator();
  });
  after(() => cluster.down());

  it('follows the backend workload out and back, and shows a dead gateway', async () => {
    const primary = await cluster.statusWhere(
      'Primary with the backend running',
      (s) => s.reason === 'PrimaryReady',
    );
    assert.equal(primary.state, 'Primary');
    assert.deepEqual(primary.activeBackends, ['web']);

    backend?.kill('SIGTERM');
    await once(backend as ChildProcess, 'exit');
    const failover = await cluster.statusWhere(
      'failover when the backend stops',
      (s) => s.state === 'Failover',
    );
    assert.equal(failover.reason, 'PrimaryNotReady');
    assert.deepEqual(failover.weights, { web: 0, 'web-east': 100 });

    await setGateway(false);
    const dead = await cluster.statusWhere(
      'the dead gateway in the status',
      (s) => s.reason === 'NoReadyBackend',
    );
    assert.equal(dead.state, 'Failover');
    assert.match(
      await cluster.table(),
      /^shop\s+web\s+Failover\s+web-east\s+web=0,web-east=100\s+\S+\s+NoReadyBackend$/m,
    );
    await setGateway(true);

    const weights = cluster.recordWeights();
    startBackend();
    const back = await cluster.statusWhere('failback complete', (s) => s.state === 'Primary');
    weights.stop();
    assert.equal(back.reason, 'RampCompleted');
    assert.deepEqual(lastFailback(weights.history, 'web-east'), [
      { web: 0, 'web-east': 100 },
      { web: 50, 'web-east': 50 },
      { web: 100, 'web-east': 0 },
    ]);

    const events = await cluster.withStore(async (store) =>
      (await store.list<Event>(Kinds.Event, { namespace: 'shop' })).items
        .filter((e) => e.source?.component === 'strait-failover')
        .map((e) => e.reason),
    );
    for (const reason of ['FailedOver', 'NoReadyBackend', 'FailbackStarted', 'FailedBack']) {
      assert.ok(events.includes(reason), `event ${reason} in ${events.join(', ')}`);
    }
    assert.equal(await cluster.stopOperator(), 0, 'the operator stops cleanly on SIGTERM');
  });
});

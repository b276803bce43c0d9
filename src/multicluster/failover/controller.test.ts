import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Endpoints, Event, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import type { TrafficSplit } from '../../core/api/traffic.ts';
import { Kinds } from '../../core/kinds.ts';
import type { ResourceStore } from '../../core/store.ts';
import { openLocalStore } from '../../platform/local/store/index.ts';
import { FAILOVER_OPERATOR_NAME, FailoverController, isFailoverControlled } from './controller.ts';
import type { HealthSample, HealthSource } from './health.ts';

const ns = 'shop';

function service(name: string, labels?: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
    spec: { ports: [{ port: 8080 }] },
  };
}

function endpoints(name: string, ready: boolean, labels?: Record<string, string>): Endpoints {
  const addresses = [{ ip: '127.0.0.9' }];
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: ns, ...(labels ? { labels } : {}) },
    subsets: [{ ...(ready ? { addresses } : { notReadyAddresses: addresses }), ports: [{ port: 8080 }] }],
  };
}

function split(labels: Record<string, string>, annotations: Record<string, string> = {}): TrafficSplit {
  return {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: { name: 'web', namespace: ns, labels, annotations },
    spec: {
      service: 'web',
      backends: [
        { service: 'web', weight: 1 },
        { service: 'web-east', weight: 0 },
      ],
    },
  };
}

function link(alive: boolean): Link {
  return {
    apiVersion: 'multicluster.strait.io/v1alpha1',
    kind: 'Link',
    metadata: { name: 'east', namespace: 'strait-multicluster' },
    spec: {
      targetClusterName: 'east',
      targetClusterDomain: 'cluster.local',
      clusterCredentialsSecret: 'cluster-credentials-east',
      gatewayAddress: '127.0.0.50',
      gatewayPort: 4143,
      gatewayIdentity: 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local',
      probeSpec: { path: '/ready', port: 4191, period: '3s', failureThreshold: 3, timeout: '2s' },
    },
    status: { gatewayAlive: alive },
  };
}

const mirrorLabels = { 'mirror.strait.io/mirrored-service': 'true', 'mirror.strait.io/cluster-name': 'east' };

/** Polls the store until `check` passes; the operator works asynchronously. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  let last: T = await read();
  while (!check(last)) {
    if (Date.now() > deadline) assert.fail(`${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await read();
  }
  return last;
}

const weightsOf = async (store: ResourceStore) => {
  const ts = await store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace: ns, name: 'web' });
  return Object.fromEntries((ts?.spec?.backends ?? []).map((b) => [b.service, b.weight]));
};

const splitNow = async (store: ResourceStore) =>
  (await store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace: ns, name: 'web' })) as TrafficSplit;

const eventsOf = async (store: ResourceStore) =>
  (await store.list<Event>(Kinds.Event, { namespace: ns })).items.filter(
    (e) => e.involvedObject.name === 'web',
  );

describe('failover controller', () => {
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  let controller: FailoverController | undefined;

  beforeEach(async () => {
    store = await openLocalStore({});
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'strait-multicluster' } });
    await store.create(service('web'));
    await store.create(endpoints('web', true));
    await store.create(service('web-east', mirrorLabels));
    await store.create(endpoints('web-east', true, mirrorLabels));
    await store.create(link(true));
  });

  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    await store.close();
  });

  const setEndpoints = async (name: string, ready: boolean, labels?: Record<string, string>) => {
    const current = (await store.get<Endpoints>({ ...Kinds.Endpoints, namespace: ns, name })) as Endpoints;
    await store.update({ ...endpoints(name, ready, labels), metadata: current.metadata });
  };

  it('moves the weight when the primary loses its ready endpoints, and back after the ramp', async () => {
    await store.create(
      split(
        { 'failover.strait.io/controlled-by': 'strait-failover' },
        {
          'failover.strait.io/primary-service': 'web',
          'failover.strait.io/hold-down': '300ms',
          'failover.strait.io/ramp-steps': '50,100',
          'failover.strait.io/ramp-step-interval': '300ms',
        },
      ),
    );
    controller = new FailoverController({ store });
    await controller.start();
    const primary = await eventually(
      () => splitNow(store),
      (ts) => ts.status?.failover?.state === 'Primary',
      'status shows Primary',
    );
    assert.equal(primary.status?.failover?.reason, 'PrimaryReady');
    assert.deepEqual(primary.status?.failover?.activeBackends, ['web']);
    assert.deepEqual(
      await weightsOf(store),
      { web: 1, 'web-east': 0 },
      'Linkerd-style weights are left alone',
    );

    await setEndpoints('web', false);
    await eventually(
      () => weightsOf(store),
      (w) => w.web === 0 && w['web-east'] === 100,
      'weights flip to east',
    );
    const failover = await splitNow(store);
    assert.equal(failover.status?.failover?.state, 'Failover');
    assert.equal(failover.status?.failover?.reason, 'PrimaryNotReady');
    assert.deepEqual(failover.status?.failover?.activeBackends, ['web-east']);
    const warned = await eventually(
      () => eventsOf(store),
      (events) => events.some((e) => e.reason === 'FailedOver'),
      'a FailedOver event',
    );
    const event = warned.find((e) => e.reason === 'FailedOver') as Event;
    assert.equal(event.type, 'Warning');
    assert.equal(event.source?.component, 'strait-failover');
    assert.match(event.message, /web: no ready endpoints; traffic to web-east/);

    await setEndpoints('web', true);
    await eventually(
      () => weightsOf(store),
      (w) => w.web === 50 && w['web-east'] === 50,
      'failback ramp at 50%',
    );
    assert.equal((await splitNow(store)).status?.failover?.state, 'FailingBack');
    await eventually(
      () => weightsOf(store),
      (w) => w.web === 100 && w['web-east'] === 0,
      'failback complete',
    );
    const done = await eventually(
      () => splitNow(store),
      (ts) => ts.status?.failover?.state === 'Primary',
      'status back to Primary',
    );
    assert.equal(done.status?.failover?.reason, 'RampCompleted');
    const reasons = (await eventsOf(store)).map((e) => e.reason);
    for (const reason of ['FailedOver', 'FailbackStarted', 'FailedBack'])
      assert.ok(reasons.includes(reason), reason);
  });

  it('resumes from the status after a restart instead of failing back at once', async () => {
    await store.create(
      split({ 'failover.strait.io/controlled-by': 'x' }, { 'failover.strait.io/hold-down': '1h' }),
    );
    controller = new FailoverController({ store });
    await controller.start();
    await setEndpoints('web', false);
    await eventually(
      () => splitNow(store),
      (ts) => ts.status?.failover?.state === 'Failover',
      'Failover',
    );
    await controller.stop();

    await setEndpoints('web', true);
    controller = new FailoverController({ store });
    await controller.start();
    const resumed = await eventually(
      () => splitNow(store),
      (ts) => ts.status?.failover?.reason === 'HoldingDown',
      'the new operator holds the recovered primary down',
    );
    assert.equal(resumed.status?.failover?.state, 'Failover');
    assert.deepEqual(await weightsOf(store), { web: 0, 'web-east': 100 });
  });

  it('manages only the splits labelled with its name; the default name takes Linkerd’s too', async () => {
    const labelled = (value: string, alias = false) =>
      split({ [`failover.${alias ? 'linkerd' : 'strait'}.io/controlled-by`]: value });
    assert.ok(isFailoverControlled(labelled('standalone'), 'standalone'));
    assert.ok(!isFailoverControlled(labelled('standalone'), FAILOVER_OPERATOR_NAME));
    assert.ok(isFailoverControlled(labelled('linkerd-failover', true), FAILOVER_OPERATOR_NAME));
    assert.ok(!isFailoverControlled(labelled('linkerd-failover', true), 'standalone'));
    assert.ok(isFailoverControlled(labelled('anything')), 'without a name, every labelled split');

    await store.create(labelled('standalone'));
    const own = labelled(FAILOVER_OPERATOR_NAME);
    own.metadata.name = 'api';
    await store.create(own);
    controller = new FailoverController({ store, name: FAILOVER_OPERATOR_NAME });
    await controller.start();
    await eventually(
      () => store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace: ns, name: 'api' }),
      (ts) => ts?.status?.failover?.state === 'Primary',
      'its own split managed',
    );
    assert.equal(
      (await splitNow(store)).status?.failover,
      undefined,
      'the other operator’s split left alone',
    );
  });

  it('counts a mirror whose gateway is dead as not ready', async () => {
    await store.create(split({ 'failover.linkerd.io/controlled-by': 'linkerd-failover' }));
    controller = new FailoverController({ store });
    await controller.start();
    await eventually(
      () => splitNow(store),
      (ts) => ts.status?.failover?.state === 'Primary',
      'Primary',
    );

    const current = (await store.get<Link>({
      ...Kinds.Link,
      namespace: 'strait-multicluster',
      name: 'east',
    })) as Link;
    await store.updateStatus({ ...current, status: { gatewayAlive: false } });
    await setEndpoints('web', false);
    const stuck = await eventually(
      () => splitNow(store),
      (ts) => ts.status?.failover?.reason === 'NoReadyBackend',
      'no backend is ready while the gateway is dead',
    );
    assert.equal(stuck.status?.failover?.state, 'Primary');
    assert.deepEqual(await weightsOf(store), { web: 1, 'web-east': 0 }, 'last weights kept');

    const dead = (await store.get<Link>({
      ...Kinds.Link,
      namespace: 'strait-multicluster',
      name: 'east',
    })) as Link;
    await store.updateStatus({ ...dead, status: { gatewayAlive: true } });
    await eventually(
      () => weightsOf(store),
      (w) => w['web-east'] === 100,
      'gateway alive again: failover to east',
    );
  });

  it('fails over on the health the proxies report', async () => {
    let primaryHealth: HealthSample = { requests: 100, successRate: 1, latencyP99Ms: 5 };
    const health: HealthSource = {
      sample: (_namespace, service) =>
        service === 'web' ? primaryHealth : { requests: 100, successRate: 1, latencyP99Ms: 5 },
    };
    await store.create(
      split({ 'failover.strait.io/controlled-by': 'x' }, { 'failover.strait.io/hold-down': '1h' }),
    );
    controller = new FailoverController({ store, health, resyncMs: 50 });
    await controller.start();
    await eventually(
      () => splitNow(store),
      (ts) => ts.status?.failover?.state === 'Primary',
      'Primary',
    );
    primaryHealth = { requests: 100, successRate: 0.5, latencyP99Ms: 5 };
    const failed = await eventually(
      () => splitNow(store),
      (ts) => ts.status?.failover?.state === 'Failover',
      'failover on a low success rate',
    );
    assert.equal(failed.status?.failover?.reason, 'PrimaryUnhealthy');
    assert.deepEqual(await weightsOf(store), { web: 0, 'web-east': 100 });
  });

  it('ignores splits without the label and reports a bad primary annotation', async () => {
    await store.create({ ...split({}), metadata: { name: 'plain', namespace: ns } });
    await store.create(
      split({ 'failover.strait.io/controlled-by': 'x' }, { 'failover.strait.io/primary-service': 'nope' }),
    );
    controller = new FailoverController({ store });
    await controller.start();
    const events = await eventually(
      () => eventsOf(store),
      (list) => list.some((e) => e.reason === 'PrimaryNotABackend'),
      'a PrimaryNotABackend warning',
    );
    assert.match(events[0]?.message ?? '', /primary service nope is not a backend/);
    await setEndpoints('web', false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const plain = await store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace: ns, name: 'plain' });
    assert.equal(plain?.status?.failover, undefined, 'an unlabelled split is not touched');
    assert.deepEqual(
      await weightsOf(store),
      { web: 1, 'web-east': 0 },
      'a split with a bad primary is not touched',
    );
  });
});

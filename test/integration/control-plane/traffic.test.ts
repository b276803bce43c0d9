import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DestinationServiceHandle,
  startDestinationService,
} from '../../../src/control-plane/destination/start.ts';
import type { Endpoints, Event, Service } from '../../../src/core/api/core.ts';
import type { HTTPRoute, TrafficSplit } from '../../../src/core/api/traffic.ts';
import {
  type DestinationProfile,
  DestinationService,
  type Update,
} from '../../../src/gen/strait/destination/v1/destination_pb.js';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { reader, testPki } from './helpers.ts';

const pki = testPki('strait-destination');
const SPLIT = {
  apiVersion: 'split.smi-spec.io/v1alpha2',
  kind: 'TrafficSplit',
  namespace: 'shop',
  name: 'web-split',
};

function service(name: string, annotations: Record<string, string> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', annotations },
    spec: { ports: [{ name: 'http', port: 80 }] },
  };
}

function weights(update: Update): Record<string, number> {
  if (update.update.case !== 'add') throw new Error(`expected an Add, got ${update.update.case}`);
  return Object.fromEntries(
    update.update.value.addrs.map((a) => [`${a.addr?.ip}:${a.addr?.port}`, a.weight]),
  );
}

function overrides(profile: DestinationProfile): [string, number][] {
  return profile.dstOverrides.map((d) => [d.authority, d.weight]);
}

describe('traffic splits and routes in destination profiles', () => {
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  let destination: DestinationServiceHandle;
  let client: ReturnType<typeof createRpcClient<typeof DestinationService>>;
  const abort = new AbortController();

  async function editSplit(backends: { service: string; weight: number }[]) {
    const current = await store.get<TrafficSplit>(SPLIT);
    await store.update({ ...current!, spec: { service: 'web', backends } });
  }

  async function acceptedCondition(reason: string) {
    return eventually(`Accepted condition with reason ${reason}`, async () => {
      const split = await store.get<TrafficSplit>(SPLIT);
      const condition = split?.status?.conditions?.find((c) => c.type === 'Accepted');
      return condition?.reason === reason ? condition : undefined;
    });
  }

  before(async () => {
    store = await openLocalStore({});
    for (const name of ['web', 'web-v1', 'web-v2']) await store.create(service(name));
    await store.create(
      service('web-east', { 'timeout.strait.io/request': '1500ms', 'retry.strait.io/budget-ratio': '0.5' }),
    );
    destination = await startDestinationService({ store, tls: pki.serverTls, port: 0 });
    client = createRpcClient(DestinationService, pki.clientOptions(destination.port));
  });

  after(async () => {
    abort.abort();
    await destination.close();
    await store.close();
  });

  it('serves TrafficSplit backends, keeps the last good split through invalid edits, and reports them', async () => {
    const profiles = reader(
      client.getProfile({ path: 'web.shop.svc.cluster.local:80' }, { signal: abort.signal }),
    );
    const plain = await profiles.next('the profile before any split');
    assert.deepEqual(overrides(plain), []);
    assert.equal(plain.fullyQualifiedName, 'web.shop.svc.cluster.local');
    assert.ok(Math.abs((plain.retryBudget?.retryRatio ?? 0) - 0.2) < 1e-6);
    assert.equal(plain.retryBudget?.minRetriesPerSecond, 10);
    assert.equal(plain.retryBudget?.ttl?.seconds, 10n);

    await store.create({
      apiVersion: SPLIT.apiVersion,
      kind: SPLIT.kind,
      metadata: { name: SPLIT.name, namespace: 'shop' },
      spec: {
        service: 'web',
        backends: [
          { service: 'web-v1', weight: 90 },
          { service: 'web-east', weight: 10 },
        ],
      },
    } satisfies TrafficSplit);
    assert.deepEqual(overrides(await profiles.next('the split')), [
      ['web-v1.shop.svc.cluster.local:80', 90],
      ['web-east.shop.svc.cluster.local:80', 10],
    ]);
    await acceptedCondition('Accepted');

    await editSplit([
      { service: 'web-v1', weight: 50 },
      { service: 'web-missing', weight: 50 },
    ]);
    const missing = await acceptedCondition('BackendNotFound');
    assert.equal(missing.status, 'False');
    assert.match(missing.message, /spec\.backends\[1\]: service shop\/web-missing does not exist/);
    assert.match(missing.message, /last good split keeps being served/);
    const warning = await eventually('a warning event', async () => {
      const events = await store.list<Event>({ apiVersion: 'v1', kind: 'Event' }, { namespace: 'shop' });
      return events.items.find((e) => e.involvedObject.name === SPLIT.name && e.reason === 'BackendNotFound');
    });
    assert.equal(warning.type, 'Warning');

    await editSplit([
      { service: 'web-v1', weight: 0 },
      { service: 'web-east', weight: 0 },
    ]);
    await acceptedCondition('AllWeightsZero');

    await editSplit([
      { service: 'web-v1', weight: 1 },
      { service: 'web-v2', weight: 3 },
    ]);
    // Had an invalid edit reached proxies, it would be the next profile on the stream.
    assert.deepEqual(overrides(await profiles.next('the next good split')), [
      ['web-v1.shop.svc.cluster.local:80', 1],
      ['web-v2.shop.svc.cluster.local:80', 3],
    ]);
    await acceptedCondition('Accepted');
  });

  it('a backend that appears later makes a waiting split valid', async () => {
    await store.create({
      apiVersion: SPLIT.apiVersion,
      kind: SPLIT.kind,
      metadata: { name: 'late-split', namespace: 'shop' },
      spec: { service: 'web-v2', backends: [{ service: 'web-v3', weight: 1 }] },
    } satisfies TrafficSplit);
    const profiles = reader(client.getProfile({ path: 'web-v2.shop:80' }, { signal: abort.signal }));
    assert.deepEqual(overrides(await profiles.next('the profile without split')), []);
    await store.create(service('web-v3'));
    assert.deepEqual(overrides(await profiles.next('the split once web-v3 exists')), [
      ['web-v3.shop.svc.cluster.local:80', 1],
    ]);
  });

  it("Get on a split apex streams the backends' endpoints weighted by share, and follows weight edits", async () => {
    const plainEndpoints = (name: string, ips: string[]): Endpoints => ({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: 'shop' },
      subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080 }] }],
    });
    for (const name of ['cart', 'cart-v1', 'cart-v2']) await store.create(service(name));
    await store.create(plainEndpoints('cart', ['10.9.0.1']));
    await store.create(plainEndpoints('cart-v1', ['10.9.1.1', '10.9.1.2']));
    await store.create(plainEndpoints('cart-v2', ['10.9.2.1']));
    const endpoints = reader(client.get({ path: 'cart.shop:80' }, { signal: abort.signal }));
    assert.deepEqual(weights(await endpoints.next('the apex endpoints')), { '10.9.0.1:8080': 10_000 });

    await store.create({
      apiVersion: SPLIT.apiVersion,
      kind: SPLIT.kind,
      metadata: { name: 'cart-split', namespace: 'shop' },
      spec: {
        service: 'cart',
        backends: [
          { service: 'cart-v1', weight: 3 },
          { service: 'cart-v2', weight: 1 },
        ],
      },
    } satisfies TrafficSplit);
    const removed = await endpoints.next('the apex endpoint removed');
    assert.equal(removed.update.case, 'remove');
    const split = await endpoints.next('the backends added');
    assert.deepEqual(weights(split), {
      '10.9.1.1:8080': 375_000,
      '10.9.1.2:8080': 375_000,
      '10.9.2.1:8080': 250_000,
    });
    assert.equal(split.update.case === 'add' && split.update.value.addrs[0]?.metricLabels.service, 'cart-v1');

    const current = await store.get<TrafficSplit>({ ...SPLIT, name: 'cart-split' });
    await store.update({
      ...current!,
      spec: {
        service: 'cart',
        backends: [
          { service: 'cart-v1', weight: 0 },
          { service: 'cart-v2', weight: 1 },
        ],
      },
    });
    assert.deepEqual(weights(await endpoints.next('the new weights')), {
      '10.9.1.1:8080': 0,
      '10.9.1.2:8080': 0,
      '10.9.2.1:8080': 1_000_000,
    });
  });

  it('reports bad traffic annotations on a Service with a warning and serves the defaults', async () => {
    await store.create(
      service('web-typo', { 'timeout.strait.io/request': 'soon', 'retry.strait.io/budget-ratio': 'lots' }),
    );
    const profile = await reader(
      client.getProfile({ path: 'web-typo.shop:80' }, { signal: abort.signal }),
    ).next('the profile');
    assert.deepEqual(profile.routes, []);
    assert.ok(Math.abs((profile.retryBudget?.retryRatio ?? 0) - 0.2) < 1e-6);
    const warning = await eventually('the InvalidAnnotation event', async () => {
      const events = await store.list<Event>({ apiVersion: 'v1', kind: 'Event' }, { namespace: 'shop' });
      return events.items.find(
        (e) => e.involvedObject.name === 'web-typo' && e.reason === 'InvalidAnnotation',
      );
    });
    assert.equal(warning.type, 'Warning');
    assert.match(warning.message, /timeout\.strait\.io\/request: "soon"/);
    assert.match(warning.message, /retry\.strait\.io\/budget-ratio: "lots"/);
  });

  it('serves HTTPRoute weighted backends, routes with timeouts and retries, and service annotations', async () => {
    const route: HTTPRoute = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'east-route', namespace: 'shop', annotations: { 'retry.strait.io/http': '5xx' } },
      spec: {
        parentRefs: [{ group: 'core', kind: 'Service', name: 'web-east', port: 80 }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/slow' } }], timeouts: { request: '5s' } },
          {
            backendRefs: [
              { name: 'web-v1', port: 8080, weight: 2 },
              { name: 'web-v2', weight: 1 },
            ],
          },
        ],
      },
    };
    await store.create(route);
    const profile = await eventually('the route in the profile', async () => {
      const stream = reader(client.getProfile({ path: 'web-east.shop:80' }, { signal: abort.signal }));
      const first = await stream.next('the profile');
      return first.dstOverrides.length > 0 ? first : undefined;
    });
    assert.deepEqual(overrides(profile), [
      ['web-v1.shop.svc.cluster.local:8080', 2],
      ['web-v2.shop.svc.cluster.local:80', 1],
    ]);
    const [slow, catchAll, fallback] = profile.routes;
    assert.equal(slow?.condition?.pathRegex, '^/slow(/.*)?$');
    assert.equal(slow?.timeout?.seconds, 5n);
    assert.equal(slow?.isRetryable, true);
    assert.deepEqual(
      slow?.responseClasses.map((c) => [c.statusMin, c.statusMax, c.isFailure]),
      [[500, 599, true]],
    );
    assert.equal(catchAll?.condition?.pathRegex, '');
    assert.equal(fallback?.name, 'default');
    assert.equal(fallback?.timeout?.nanos, 500_000_000);
    assert.ok(Math.abs((profile.retryBudget?.retryRatio ?? 0) - 0.5) < 1e-6);

    const status = await eventually('the HTTPRoute parent status', async () => {
      const current = await store.get<HTTPRoute>({
        apiVersion: route.apiVersion,
        kind: route.kind,
        namespace: 'shop',
        name: 'east-route',
      });
      return current?.status?.parents?.find((p) => p.controllerName === 'strait.io/destination');
    });
    assert.deepEqual(
      status.conditions.map((c) => [c.type, c.status]),
      [
        ['Accepted', 'True'],
        ['ResolvedRefs', 'True'],
      ],
    );
  });
});

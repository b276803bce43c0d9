import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Event } from '../../core/api/core.ts';
import type { Resource } from '../../core/resource.ts';
import { openLocalStore } from '../../platform/local/store/index.ts';
import { EventRecorder } from './event-recorder.ts';

const EVENT = { apiVersion: 'v1', kind: 'Event' };

describe('event recorder', { timeout: 120_000 }, () => {
  it('writes an Event about an object, and counts repeats instead of writing new ones', async () => {
    const store = await openLocalStore({});
    const link = await store.create<Resource>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'apps' },
      spec: { ports: [{ port: 80 }] },
    });
    let clock = new Date('2026-01-01T00:00:00Z');
    const recorder = new EventRecorder(store, { component: 'service-mirror', now: () => clock });
    const first = await recorder.record(link, 'Warning', 'GatewayDown', 'probe failed 3 times');
    assert.equal(first?.count, 1);
    assert.deepEqual(first?.involvedObject, {
      apiVersion: 'v1',
      kind: 'Service',
      name: 'web',
      namespace: 'apps',
      uid: link.metadata.uid,
    });
    assert.equal(first?.metadata.namespace, 'apps');
    clock = new Date('2026-01-01T00:05:00Z');
    const again = await recorder.record(link, 'Warning', 'GatewayDown', 'probe failed 3 times');
    assert.equal(again?.metadata.name, first?.metadata.name);
    assert.equal(again?.count, 2);
    assert.equal(again?.firstTimestamp, '2026-01-01T00:00:00Z');
    assert.equal(again?.lastTimestamp, '2026-01-01T00:05:00Z');
    await recorder.record(link, 'Normal', 'GatewayUp', 'probe succeeded');
    const events = (await store.list<Event>(EVENT, { namespace: 'apps' })).items;
    assert.deepEqual(events.map((e) => [e.reason, e.count]).sort(), [
      ['GatewayDown', 2],
      ['GatewayUp', 1],
    ]);
  });

  it('counts every one of many concurrent repeats, across recorders too', async () => {
    const store = await openLocalStore({});
    const namespace = await store.create<Resource>({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'apps' },
    });
    const one = new EventRecorder(store, { component: 'x' });
    const two = new EventRecorder(store, { component: 'x' });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).record(namespace, 'Normal', 'Seen', 'again')),
    );
    const events = (await store.list<Event>(EVENT)).items;
    assert.equal(events.length, 1);
    assert.equal(
      events[0]?.metadata.namespace,
      'default',
      'events about cluster-scoped objects go to default',
    );
    assert.equal(events[0]?.count, 20, 'conflicting writes are retried, none lost');
  });

  it('names events validly whatever the object is called', async () => {
    const store = await openLocalStore({});
    const recorder = new EventRecorder(store, { component: 'x', onError: (e) => assert.fail(String(e)) });
    const role = await store.create<Resource>({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:Strait_Reader' },
    });
    const event = await recorder.record(role, 'Normal', 'Seen', 'm');
    assert.match(event?.metadata.name ?? '', /^system-strait-reader\.[0-9a-f]{16}$/);
  });

  it('never throws: a failed write is reported and resolves undefined', async () => {
    const store = await openLocalStore({});
    const errors: unknown[] = [];
    const recorder = new EventRecorder(store, { component: 'x', onError: (e) => errors.push(e) });
    await store.close();
    const result = await recorder.record(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } },
      'Normal',
      'R',
      'm',
    );
    assert.equal(result, undefined);
    assert.equal(errors.length, 1);
  });
});

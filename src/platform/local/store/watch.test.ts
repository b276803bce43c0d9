import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WatchExpiredError } from '../../../core/store.ts';
import { openLocalStore } from './open.ts';
import { service, serviceSpec, take } from './test-objects.ts';

const SERVICE = { apiVersion: 'v1', kind: 'Service' };
const summary = (
  events: { type: string; object: { metadata: { name: string; resourceVersion?: string } } }[],
) => events.map((e) => `${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`);

describe('local store: watch', { timeout: 120_000 }, () => {
  it('without a version, starts with ADDED for every current object, then live changes', async () => {
    const store = await openLocalStore({});
    await store.create(service('a'));
    const watch = store.watch(SERVICE);
    const events = take(watch, 3);
    await store.create(service('b'));
    await store.delete({ ...SERVICE, namespace: 'default', name: 'a' });
    assert.deepEqual(summary(await events), ['ADDED a@1', 'ADDED b@2', 'DELETED a@3']);
  });

  it('from a list version, delivers exactly the changes after it', async () => {
    const store = await openLocalStore({});
    const a = await store.create(service('a'));
    const { resourceVersion } = await store.list(SERVICE);
    await store.update({ ...a, spec: serviceSpec(81) });
    await store.create(service('b'));
    const events = await take(store.watch(SERVICE, { resourceVersion }), 2);
    assert.deepEqual(summary(events), ['MODIFIED a@2', 'ADDED b@3']);
  });

  it('a version older than the history window is expired: relist', async () => {
    const store = await openLocalStore({ historySize: 5 });
    for (let i = 0; i < 20; i++) await store.create(service(`s${i}`));
    await assert.rejects(take(store.watch(SERVICE, { resourceVersion: '1' }), 1), WatchExpiredError);
    await assert.rejects(take(store.watch(SERVICE, { resourceVersion: '999' }), 1), WatchExpiredError);
    const latest = await take(store.watch(SERVICE, { resourceVersion: '18' }), 2);
    assert.deepEqual(summary(latest), ['ADDED s18@19', 'ADDED s19@20']);
  });

  it('tells a selector watcher when an object enters or leaves its selection', async () => {
    const store = await openLocalStore({});
    await store.create(service('web', 'default', { exported: 'false' }));
    const ref = { ...SERVICE, namespace: 'default', name: 'web' };
    const events = take(store.watch(SERVICE, { labelSelector: 'exported=true', resourceVersion: '1' }), 3);
    await store.patch(ref, { metadata: { labels: { exported: 'true' } } });
    await store.patch(ref, { spec: { clusterIP: 'None' } });
    await store.patch(ref, { metadata: { labels: { exported: 'false' } } });
    assert.deepEqual(summary(await events), ['ADDED web@2', 'MODIFIED web@3', 'DELETED web@4']);
  });

  it('filters by namespace and kind', async () => {
    const store = await openLocalStore({});
    const events = take(store.watch(SERVICE, { namespace: 'two' }), 1);
    await store.create(service('a', 'one'));
    await store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'two' } });
    await store.create(service('b', 'two'));
    assert.deepEqual(summary(await events), ['ADDED b@3']);
  });

  it('sends BOOKMARK events with the current version when asked', async () => {
    const store = await openLocalStore({ bookmarkIntervalMs: 20 });
    await store.create(service('a'));
    const events = await take(store.watch(SERVICE, { allowBookmarks: true, resourceVersion: '1' }), 2);
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.resourceVersion]),
      [
        ['BOOKMARK', '1'],
        ['BOOKMARK', '1'],
      ],
    );
  });

  it('ends when the signal aborts or the store closes', async () => {
    const store = await openLocalStore({});
    const controller = new AbortController();
    const aborted = take(store.watch(SERVICE, { signal: controller.signal }), 5);
    const closed = take(store.watch(SERVICE), 5);
    await store.create(service('a'));
    controller.abort();
    assert.equal((await aborted).length, 1);
    await store.close();
    assert.equal((await closed).length, 1);
  });

  it('ends a watcher that falls too far behind, so it relists instead of buffering forever', async () => {
    const store = await openLocalStore({ maxWatchBacklog: 3 });
    const iterator = store.watch(SERVICE)[Symbol.asyncIterator]();
    const first = iterator.next();
    for (let i = 0; i < 6; i++) await store.create(service(`s${i}`));
    assert.equal((await first).value?.object.metadata.name, 's0');
    await assert.rejects(async () => {
      for (;;) if ((await iterator.next()).done) return;
    }, WatchExpiredError);
  });

  it('rejects a resourceVersion that is not a number', async () => {
    const store = await openLocalStore({});
    await assert.rejects(take(store.watch(SERVICE, { resourceVersion: 'abc' }), 1), { code: 'E_INVALID' });
  });
});

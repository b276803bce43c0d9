import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Resource } from '../../core/resource.ts';
import { openLocalStore } from '../../platform/local/store/index.ts';
import { SharedInformer } from './informer.ts';
import { configMap, eventually, SeverableStore } from './test-support.ts';

const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const ref = (name: string) => ({ ...CONFIG_MAP, namespace: 'default', name });

/** Informers of the running test, stopped after it whatever its outcome. */
const running: SharedInformer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((informer) => informer.stop()));
});

/** Records what handlers were told, as `add a`, `update a`, `delete a`. */
function recorder(informer: SharedInformer) {
  running.push(informer);
  const log: string[] = [];
  informer.addEventHandler({
    onAdd: (o) => log.push(`add ${o.metadata.name}`),
    onUpdate: (_, o) => log.push(`update ${o.metadata.name}`),
    onDelete: (o) => log.push(`delete ${o.metadata.name}`),
  });
  return log;
}

describe('shared informer', { timeout: 120_000 }, () => {
  it('lists, syncs, then follows every change, with indexes', async () => {
    const store = await openLocalStore({});
    await store.create(configMap('a', { team: 'x' }));
    const informer = new SharedInformer(store, CONFIG_MAP, {
      indexers: { team: (o: Resource) => [String((o.data as Record<string, string>).team)] },
    });
    const log = recorder(informer);
    assert.equal(informer.hasSynced(), false);
    informer.start();
    assert.equal(await informer.waitForSync(), true);
    assert.deepEqual(log, ['add a']);
    await store.create(configMap('b', { team: 'y' }));
    await store.patch(ref('a'), { data: { team: 'y' } });
    await store.delete(ref('b'));
    await eventually(() => log.length === 4, 'four changes arrived');
    assert.deepEqual(log, ['add a', 'add b', 'update a', 'delete b']);
    assert.deepEqual(
      informer.cache.byIndex('team', 'y').map((o) => o.metadata.name),
      ['a'],
    );
    assert.deepEqual(informer.cache.byIndex('team', 'x'), []);
    assert.deepEqual(informer.cache.byIndex('namespace', 'default').length, 1);
    assert.equal(informer.lastSyncResourceVersion, store.resourceVersion);
    await informer.stop();
  });

  it('relists when its watch falls too far behind, telling handlers only the differences', async () => {
    const local = await openLocalStore({ maxWatchBacklog: 3, historySize: 3 });
    const store = new SeverableStore(local);
    for (const name of ['keep', 'change', 'remove']) await store.create(configMap(name));
    const errors: unknown[] = [];
    const informer = new SharedInformer(store, CONFIG_MAP, { onError: (e) => errors.push(e) });
    const log = recorder(informer);
    informer.start();
    await informer.waitForSync();
    log.length = 0;
    // All at once, so the watcher cannot keep up and is told to relist.
    await Promise.all([
      store.patch(ref('change'), { data: { v: '2' } }),
      store.delete(ref('remove')),
      ...Array.from({ length: 10 }, (_, i) => store.create(configMap(`new-${i}`))),
    ]);
    await eventually(() => informer.cache.size === 12, 'the cache has every object');
    await eventually(
      () => informer.lastSyncResourceVersion === local.resourceVersion,
      'the cache is current',
    );
    assert.equal(store.lists, 2, 'it listed again');
    const sorted = [...log].sort();
    assert.deepEqual(sorted, [
      'add new-0',
      'add new-1',
      'add new-2',
      'add new-3',
      'add new-4',
      'add new-5',
      'add new-6',
      'add new-7',
      'add new-8',
      'add new-9',
      'delete remove',
      'update change',
    ]);
    assert.deepEqual(errors, [], 'an expired watch is routine, not an error');
    await informer.stop();
  });

  it('keeps its cache through an outage, retries with backoff, and resumes without repeating events', async () => {
    const store = new SeverableStore(await openLocalStore({}));
    await store.create(configMap('a'));
    store.cut();
    const errors: string[] = [];
    const informer = new SharedInformer(store, CONFIG_MAP, {
      backoff: { initialMs: 200, maxMs: 400, jitter: 0 },
      onError: (e) => errors.push(String(e)),
    });
    const log = recorder(informer);
    informer.start();
    await eventually(() => errors.length >= 2, 'list failures were reported');
    assert.equal(informer.hasSynced(), false);
    assert.equal(await informer.waitForSync(AbortSignal.timeout(20)), false, 'gave up waiting, not synced');
    store.restore();
    await informer.waitForSync();
    await store.create(configMap('b'));
    await eventually(() => log.length === 2, 'b arrived');
    store.cut();
    await eventually(
      () => errors.some((e) => e.includes('watch connection broke')),
      'the broken watch was reported',
    );
    assert.equal(informer.cache.size, 2, 'the cache survives the outage');
    const listsBefore = store.lists;
    store.restore();
    await store.create(configMap('c'));
    await eventually(() => log.length === 3, 'c arrived after the outage');
    assert.deepEqual(log, ['add a', 'add b', 'add c']);
    assert.equal(store.lists, listsBefore, 'resumed from its last version without listing again');
    await informer.stop();
  });

  it('lists again when watches keep failing, so changes still arrive', async () => {
    const store = new SeverableStore(await openLocalStore({}));
    const errors: string[] = [];
    const informer = new SharedInformer(store, CONFIG_MAP, {
      backoff: { initialMs: 5, maxMs: 20 },
      onError: (e) => errors.push(String(e)),
    });
    const log = recorder(informer);
    informer.start();
    await informer.waitForSync();
    store.refuseWatches = true;
    store.cut(); // breaks the open watch
    store.restore();
    await eventually(() => errors.some((e) => e.includes('watch connection broke')), 'the watch broke');
    await store.create(configMap('a'));
    await eventually(() => log.includes('add a'), 'a arrived through a list');
    assert.ok(store.lists >= 2);
    assert.ok(errors.some((e) => e.includes('watches are refused')));
    await informer.stop();
  });

  it('tells a late handler about cached objects, and survives a throwing handler', async () => {
    const store = await openLocalStore({});
    await store.create(configMap('a'));
    const errors: unknown[] = [];
    const informer = new SharedInformer(store, CONFIG_MAP, { onError: (e) => errors.push(e) });
    running.push(informer);
    informer.addEventHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    informer.start();
    await informer.waitForSync();
    const late = recorder(informer);
    assert.deepEqual(late, ['add a']);
    await store.create(configMap('b'));
    await eventually(() => late.length === 2, 'b arrived despite the throwing handler');
    assert.equal(errors.length, 2);
    await informer.stop();
  });

  it('watches only its namespace and selector', async () => {
    const store = await openLocalStore({});
    const informer = new SharedInformer(store, CONFIG_MAP, { namespace: 'one', labelSelector: 'app=web' });
    const log = recorder(informer);
    informer.start();
    await informer.waitForSync();
    await store.create({
      ...configMap('x', {}, 'two'),
      metadata: { name: 'x', namespace: 'two', labels: { app: 'web' } },
    });
    await store.create({
      ...configMap('y', {}, 'one'),
      metadata: { name: 'y', namespace: 'one', labels: { app: 'db' } },
    });
    await store.create({
      ...configMap('z', {}, 'one'),
      metadata: { name: 'z', namespace: 'one', labels: { app: 'web' } },
    });
    await eventually(() => log.length === 1, 'z arrived');
    assert.deepEqual(log, ['add z']);
    await informer.stop();
  });
});

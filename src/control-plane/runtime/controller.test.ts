import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { ConfigMap } from '../../core/api/core.ts';
import type { Resource } from '../../core/resource.ts';
import { openLocalStore } from '../../platform/local/store/index.ts';
import { splitKey } from './cache.ts';
import { Controller } from './controller.ts';
import { SharedInformer } from './informer.ts';
import { configMap, eventually } from './test-support.ts';

const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };

/** Informers of the running test, stopped after it whatever its outcome. */
const informers: SharedInformer<never>[] = [];
afterEach(async () => {
  await Promise.all(informers.splice(0).map((informer) => informer.stop()));
});

function informerOf<T extends Resource = Resource>(...args: ConstructorParameters<typeof SharedInformer<T>>) {
  const informer = new SharedInformer<T>(...args);
  informers.push(informer as unknown as SharedInformer<never>);
  return informer;
}
const SERVICE = { apiVersion: 'v1', kind: 'Service' };

describe('controller', { timeout: 120_000 }, () => {
  it('reconciles each object after its informers sync, and again on every change', async () => {
    const store = await openLocalStore({});
    await store.create(configMap('a', { source: 'one' }));
    const informer = informerOf<ConfigMap>(store, CONFIG_MAP);
    // Keeps a `<name>-copy` ConfigMap with the source's data.
    const controller = new Controller({
      name: 'copier',
      async reconcile(key) {
        const { namespace, name } = splitKey(key);
        if (name.endsWith('-copy')) return;
        const source = informer.cache.get(key);
        const copyRef = { ...CONFIG_MAP, namespace, name: `${name}-copy` };
        if (!source) {
          await store.delete(copyRef);
          return;
        }
        await store.apply(
          { ...configMap(`${name}-copy`, source.data ?? {}), metadata: { ...copyRef } },
          {
            fieldManager: 'copier',
            force: true,
          },
        );
      },
    });
    controller.watch(informer);
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    const copyOf = async (name: string) =>
      (await store.get<ConfigMap>({ ...CONFIG_MAP, namespace: 'default', name: `${name}-copy` }))?.data;
    await eventually(() => informer.cache.get('default/a-copy') !== undefined, 'a was copied');
    assert.deepEqual(await copyOf('a'), { source: 'one' });
    await store.patch({ ...CONFIG_MAP, namespace: 'default', name: 'a' }, { data: { source: 'two' } });
    await eventually(() => informer.cache.get('default/a-copy')?.data?.source === 'two', 'the copy followed');
    await store.delete({ ...CONFIG_MAP, namespace: 'default', name: 'a' });
    await eventually(() => informer.cache.get('default/a-copy') === undefined, 'the copy went too');
    stop.abort();
    await running;
    await informer.stop();
  });

  it('retries a failing key with backoff until it succeeds, and gives up after maxRetries', async () => {
    const store = await openLocalStore({});
    await store.create(configMap('flaky'));
    await store.create(configMap('broken'));
    const informer = informerOf(store, CONFIG_MAP);
    const attempts = new Map<string, number>();
    const reports: string[] = [];
    const controller = new Controller({
      name: 'retrying',
      baseDelayMs: 1,
      maxRetries: 3,
      async reconcile(key) {
        const count = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, count);
        if (key === 'default/broken' || count < 3) throw new Error(`attempt ${count} failed`);
      },
      onError: (key, error, willRetry) => reports.push(`${key} ${String(error)} ${willRetry}`),
    });
    controller.watch(informer);
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await eventually(
      () => attempts.get('default/flaky') === 3 && attempts.get('default/broken') === 4,
      'retries ran',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(attempts.get('default/flaky'), 3, 'a success ends the retries');
    assert.equal(attempts.get('default/broken'), 4, 'given up after three retries');
    assert.ok(reports.includes('default/broken Error: attempt 4 failed false'));
    assert.ok(reports.includes('default/flaky Error: attempt 2 failed true'));
    stop.abort();
    await running;
    await informer.stop();
  });

  it('never reconciles one key twice at once, even with many workers', async () => {
    const store = await openLocalStore({});
    const informer = informerOf(store, CONFIG_MAP);
    const active = new Set<string>();
    let overlaps = 0;
    let runs = 0;
    const controller = new Controller({
      name: 'exclusive',
      workers: 4,
      async reconcile(key) {
        if (active.has(key)) overlaps++;
        active.add(key);
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 2));
        active.delete(key);
      },
    });
    controller.watch(informer);
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await informer.waitForSync();
    await store.create(configMap('hot'));
    for (let i = 0; i < 30; i++) {
      await store.patch({ ...CONFIG_MAP, namespace: 'default', name: 'hot' }, { data: { i: String(i) } });
      controller.enqueue('default/other');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually(() => controller.queue.length === 0 && active.size === 0, 'the queue drained');
    assert.equal(overlaps, 0);
    assert.ok(runs >= 2);
    stop.abort();
    await running;
    await informer.stop();
  });

  it('maps changes of one kind to keys of another, requeues when asked, and resyncs', async () => {
    const store = await openLocalStore({});
    const services = informerOf(store, SERVICE);
    const configs = informerOf<Resource>(store, CONFIG_MAP);
    const seen: string[] = [];
    let periodic = 0;
    const controller = new Controller({
      name: 'mapper',
      resyncMs: 10,
      async reconcile(key) {
        seen.push(key);
        if (key === 'default/periodic' && ++periodic < 3) return { requeueAfterMs: 1 };
        return undefined;
      },
    });
    controller.watch(services);
    controller.watch(configs, (o) => `${o.metadata.namespace}/${o.metadata.name.replace(/-config$/, '')}`);
    const stop = new AbortController();
    const running = controller.run(stop.signal);
    await services.waitForSync();
    await store.create(configMap('web-config'));
    controller.enqueue('default/periodic');
    await eventually(() => seen.includes('default/web') && periodic === 3, 'mapped key and requeues ran');
    const before = seen.filter((key) => key === 'default/web').length;
    await eventually(
      () => seen.filter((key) => key === 'default/web').length > before + 1,
      'resyncs queue it again',
    );
    stop.abort();
    await running;
    await services.stop();
    await configs.stop();
  });
});

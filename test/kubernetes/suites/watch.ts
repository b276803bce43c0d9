import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Kinds } from '../../../src/core/kinds.ts';
import type { KindRef } from '../../../src/core/resource.ts';
import { type WatchEvent, WatchExpiredError } from '../../../src/core/store.ts';
import type { WatchRestartReason } from '../../../src/platform/kubernetes/store.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { configMap, freshNamespace, storeOn } from './fixtures.ts';

/** Reads events from a watch until `until` says stop; fails after `timeoutMs`. */
async function collect(
  events: AsyncIterable<WatchEvent>,
  until: (seen: WatchEvent[]) => boolean,
  timeoutMs = 60_000,
): Promise<WatchEvent[]> {
  const seen: WatchEvent[] = [];
  const timer = AbortSignal.timeout(timeoutMs);
  const iterator = events[Symbol.asyncIterator]();
  while (!until(seen)) {
    const next = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) =>
        timer.addEventListener('abort', () => reject(new Error(`watch saw only ${describe(seen)}`)), {
          once: true,
        }),
      ),
    ]);
    if (next.done) break;
    seen.push(next.value);
  }
  return seen;
}

const describe = (events: WatchEvent[]) =>
  events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`.trim()).join(', ') || 'nothing';

/** Watches: ordering, initial state, bookmarks, expiry, and resuming across closes and stalls. */
export async function watchTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const west = storeOn(clusters, 'west');

  await t.test('watch: events after a list arrive in order with their kind', async () => {
    const ns = await freshNamespace(west, 'watch');
    await west.create(configMap(ns, 'before', {}));
    const listed = await west.list(Kinds.ConfigMap, { namespace: ns });
    const abort = new AbortController();
    const events = west.watch(Kinds.ConfigMap, {
      namespace: ns,
      resourceVersion: listed.resourceVersion,
      signal: abort.signal,
    });
    const seen = collect(events, (s) => s.length >= 3);
    await west.create(configMap(ns, 'a', { v: '1' }));
    await west.patch({ ...Kinds.ConfigMap, namespace: ns, name: 'a' }, { data: { v: '2' } });
    await west.delete({ ...Kinds.ConfigMap, namespace: ns, name: 'a' });
    const got = await seen;
    abort.abort();
    assert.deepEqual(
      got.map((e) => [e.type, e.object.metadata.name, e.object.kind]),
      [
        ['ADDED', 'a', 'ConfigMap'],
        ['MODIFIED', 'a', 'ConfigMap'],
        ['DELETED', 'a', 'ConfigMap'],
      ],
    );
  });

  await t.test('watch: without a resourceVersion every current object comes first as ADDED', async () => {
    const ns = await freshNamespace(west, 'initial');
    await west.create(configMap(ns, 'x', {}));
    await west.create(configMap(ns, 'y', {}));
    const abort = new AbortController();
    const events = west.watch(Kinds.ConfigMap, { namespace: ns, signal: abort.signal });
    const initial = await collect(events, (s) => s.length >= 2);
    assert.deepEqual(initial.map((e) => `${e.type} ${e.object.metadata.name}`).sort(), [
      'ADDED x',
      'ADDED y',
    ]);
    abort.abort();
  });

  await t.test('watch: label selectors limit the events', async () => {
    const ns = await freshNamespace(west, 'selected');
    const listed = await west.list(Kinds.ConfigMap, { namespace: ns });
    const abort = new AbortController();
    const events = west.watch(Kinds.ConfigMap, {
      namespace: ns,
      labelSelector: { matchLabels: { watched: 'yes' } },
      resourceVersion: listed.resourceVersion,
      signal: abort.signal,
    });
    const seen = collect(events, (s) => s.length >= 1);
    await west.create(configMap(ns, 'ignored', {}, { watched: 'no' }));
    await west.create(configMap(ns, 'wanted', {}, { watched: 'yes' }));
    const [first] = await seen;
    abort.abort();
    assert.equal(first?.object.metadata.name, 'wanted');
  });

  await t.test('watch: an expired resourceVersion throws WatchExpiredError', async () => {
    const events = west.watch(Kinds.ConfigMap, { resourceVersion: '1' });
    await assert.rejects(
      collect(events, () => false),
      WatchExpiredError,
    );
  });

  await t.test('watch: bookmarks carry the current version when asked for', async () => {
    const ns = await freshNamespace(west, 'bookmark');
    // The API server sends a bookmark shortly before it ends a watch at its timeout.
    const store = storeOn(clusters, 'west', { watchTimeoutSeconds: 8 });
    const listed = await store.list(Kinds.ConfigMap, { namespace: ns });
    const abort = new AbortController();
    const events = store.watch(Kinds.ConfigMap, {
      namespace: ns,
      resourceVersion: listed.resourceVersion,
      allowBookmarks: true,
      signal: abort.signal,
    });
    const [bookmark] = await collect(events, (s) => s.some((e) => e.type === 'BOOKMARK'), 120_000);
    abort.abort();
    assert.equal(bookmark?.type, 'BOOKMARK');
    assert.match(bookmark?.object.metadata.resourceVersion ?? '', /^\d+$/);
  });

  await t.test(
    'watch: resumes without losing events when the server closes it or it goes silent',
    async () => {
      for (const [reason, options] of [
        ['closed', { watchTimeoutSeconds: 2 }],
        ['stalled', { watchIdleMs: 1_000 }],
      ] as const) {
        const ns = await freshNamespace(west, `resume-${reason}`);
        const restarts: WatchRestartReason[] = [];
        const store = storeOn(clusters, 'west', {
          ...options,
          onWatchRestart: (_kind: KindRef, why: WatchRestartReason) => restarts.push(why),
        });
        const listed = await store.list(Kinds.ConfigMap, { namespace: ns });
        const abort = new AbortController();
        const events = store.watch(Kinds.ConfigMap, {
          namespace: ns,
          resourceVersion: listed.resourceVersion,
          signal: abort.signal,
        });
        const seen = collect(events, (s) => s.length >= 2, 120_000);
        await west.create(configMap(ns, 'early', {}));
        // Write the second object only after the watch had to be reopened at least once.
        const deadline = Date.now() + 60_000;
        while (!restarts.includes(reason) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        assert.ok(
          restarts.includes(reason),
          `expected a "${reason}" restart, saw ${restarts.join(', ') || 'none'}`,
        );
        await west.create(configMap(ns, 'late', {}));
        const got = await seen;
        abort.abort();
        assert.deepEqual(
          got.map((e) => `${e.type} ${e.object.metadata.name}`),
          ['ADDED early', 'ADDED late'],
        );
      }
    },
  );
}

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Kinds } from '../../../src/core/kinds.ts';
import { Reflector } from '../../../src/platform/kubernetes/reflector.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { type ConfigMap, configMap, eventually, freshNamespace, storeOn } from './fixtures.ts';

/** The reflector keeps a copy that matches the cluster across watch restarts. */
export async function reflectorTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const west = storeOn(clusters, 'west');

  await t.test('reflector: lists, then follows changes, and reports each once', async (test) => {
    const ns = await freshNamespace(west, 'reflect');
    await west.create(configMap(ns, 'first', { v: '1' }));
    const log: string[] = [];
    // Short server timeouts make the watch reconnect several times during the test.
    const reflector = new Reflector<ConfigMap>({
      store: storeOn(clusters, 'west', { watchTimeoutSeconds: 2 }),
      kind: Kinds.ConfigMap,
      namespace: ns,
      handler: {
        upsert: (object, previous) => {
          log.push(`${previous ? 'update' : 'add'} ${object.metadata.name}`);
        },
        remove: (object) => {
          log.push(`remove ${object.metadata.name}`);
        },
      },
    }).start();
    test.after(() => reflector.stop());
    await reflector.hasSynced();
    assert.deepEqual(log, ['add first']);

    await west.create(configMap(ns, 'second', {}));
    await west.patch({ ...Kinds.ConfigMap, namespace: ns, name: 'first' }, { data: { v: '2' } });
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await west.delete({ ...Kinds.ConfigMap, namespace: ns, name: 'second' });
    await eventually('the reflector to see the deletion', async () => log.includes('remove second'));
    assert.deepEqual(log, ['add first', 'add second', 'update first', 'remove second']);
    assert.equal(reflector.get(ns, 'first')?.data?.v, '2');
    assert.deepEqual(
      reflector.list().map((o) => o.metadata.name),
      ['first'],
    );
  });

  await t.test('reflector: rides out an API server restart and catches up', async (test) => {
    const ns = await freshNamespace(west, 'restart');
    await west.create(configMap(ns, 'before', {}));
    const failures: unknown[] = [];
    const reflector = new Reflector<ConfigMap>({
      store: storeOn(clusters, 'west'),
      kind: Kinds.ConfigMap,
      namespace: ns,
      handler: { failed: (error) => failures.push(error) },
    }).start();
    // A reflector left running would keep retrying and hold the test process open.
    test.after(() => reflector.stop());
    await reflector.hasSynced();

    // The outage is waited for while it lasts: a restart quicker than the watch's reconnection
    // would otherwise go unseen.
    await clusters.west.restartApiserver(async () => {
      await eventually('the reflector to report the outage', async () => failures.length > 0);
    });
    await west.create(configMap(ns, 'after', {}));
    await west.patch({ ...Kinds.ConfigMap, namespace: ns, name: 'before' }, { data: { seen: 'yes' } });
    await eventually(
      'the reflector to catch up after the restart',
      async () =>
        reflector.get(ns, 'after') !== undefined && reflector.get(ns, 'before')?.data?.seen === 'yes',
      120_000,
    );
    assert.ok(
      // Refused connections while it is down; possibly 5xx while it starts.
      failures.every((error) =>
        ['E_KUBE_UNREACHABLE', 'E_KUBE_API'].includes((error as { code?: string }).code ?? ''),
      ),
      failures.map(String).join('\n'),
    );
  });
}

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { splitKey } from '../../../src/control-plane/runtime/cache.ts';
import { Controller } from '../../../src/control-plane/runtime/controller.ts';
import { SharedInformer } from '../../../src/control-plane/runtime/informer.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { type ConfigMap, configMap, eventually, freshNamespace, storeOn } from './fixtures.ts';

/** The control plane's informer, work queue and controller loop, running on the Kubernetes store. */
export async function controllerTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const store = storeOn(clusters, 'west');

  await t.test(
    'controller: a reconcile loop on the real cluster applies, updates and garbage-collects',
    async () => {
      const ns = await freshNamespace(store, 'controller');
      const informer = new SharedInformer<ConfigMap>(store, Kinds.ConfigMap, {
        namespace: ns,
        labelSelector: { matchLabels: { copy: 'yes' } },
      });
      // Copies each labelled ConfigMap into a Secret it owns, by server-side apply.
      const controller = new Controller({
        name: 'configmap-copier',
        async reconcile(key) {
          const source = informer.cache.get(key);
          if (!source) return; // Deleted: the garbage collector removes the copy.
          const { namespace, name } = splitKey(key);
          const secret: Resource = {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: {
              name: `${name}-copy`,
              namespace: namespace as string,
              ownerReferences: [
                {
                  apiVersion: 'v1',
                  kind: 'ConfigMap',
                  name,
                  uid: source.metadata.uid as string,
                  controller: true,
                },
              ],
            },
            stringData: source.data ?? {},
          };
          await store.apply(secret, { fieldManager: 'configmap-copier', force: true });
        },
      });
      controller.watch(informer);
      const abort = new AbortController();
      const running = controller.run(abort.signal);
      try {
        const copyOf = async (name: string) =>
          store.get<Resource & { data?: Record<string, string> }>({
            ...Kinds.Secret,
            namespace: ns,
            name: `${name}-copy`,
          });
        const decoded = (secret: { data?: Record<string, string> } | undefined) =>
          Object.fromEntries(
            Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
          );

        await store.create(configMap(ns, 'settings', { mode: 'fast' }, { copy: 'yes' }));
        await store.create(configMap(ns, 'ignored', { mode: 'slow' }));
        await eventually('the copy', async () => decoded(await copyOf('settings')).mode === 'fast');

        await store.patch(
          { ...Kinds.ConfigMap, namespace: ns, name: 'settings' },
          { data: { mode: 'safe' } },
        );
        await eventually(
          'the copy to follow the change',
          async () => decoded(await copyOf('settings')).mode === 'safe',
        );
        assert.equal(await copyOf('ignored'), undefined);

        await store.delete({ ...Kinds.ConfigMap, namespace: ns, name: 'settings' });
        await eventually(
          'the copy to be collected with its owner',
          async () => (await copyOf('settings')) === undefined,
        );
      } finally {
        abort.abort();
        await running;
        await informer.stop();
      }
    },
  );
}

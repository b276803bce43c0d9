import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kinds } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';
import { openLocalStore } from '../local/store/index.ts';
import { Reflector } from './reflector.ts';

const configMap = (name: string, value: string): Resource => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data: { value },
});

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('a reflector reports the list, then each change once', async () => {
  const store = await openLocalStore();
  await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  await store.create(configMap('a', '1'));
  const log: string[] = [];
  const reflector = new Reflector<Resource>({
    store,
    kind: Kinds.ConfigMap,
    handler: {
      upsert: (object, previous) => {
        log.push(`${previous ? 'update' : 'add'} ${object.metadata.name}`);
      },
      remove: (object) => {
        log.push(`remove ${object.metadata.name}`);
      },
    },
  }).start();
  await reflector.hasSynced();
  await store.create(configMap('b', '1'));
  await store.patch({ ...Kinds.ConfigMap, namespace: 'default', name: 'a' }, { data: { value: '2' } });
  await store.delete({ ...Kinds.ConfigMap, namespace: 'default', name: 'b' });
  await until(() => log.length === 4);
  assert.deepEqual(log, ['add a', 'add b', 'update a', 'remove b']);
  assert.deepEqual(reflector.get('default', 'a')?.data, { value: '2' });
  await reflector.stop();
  await store.create(configMap('c', '1'));
  assert.equal(log.length, 4, 'a stopped reflector reports nothing');
  await store.close();
});

test('when its version expires, the reflector lists again and reports only the differences', async () => {
  const store = await openLocalStore({ historySize: 1 });
  await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  await store.create(configMap('kept', '1'));
  await store.create(configMap('dropped', '1'));
  const log: string[] = [];
  const gate = Promise.withResolvers<void>();
  let synced = 0;
  const reflector = new Reflector<Resource>({
    store,
    kind: Kinds.ConfigMap,
    handler: {
      // Holding the first list's callbacks lets writes pile up past the store's history.
      upsert: async (object, previous) => {
        log.push(`${previous ? 'update' : 'add'} ${object.metadata.name}`);
        if (synced === 0) await gate.promise;
      },
      remove: (object) => {
        log.push(`remove ${object.metadata.name}`);
      },
      synced: () => {
        synced++;
      },
    },
  }).start();
  await until(() => log.length === 1);
  await store.patch({ ...Kinds.ConfigMap, namespace: 'default', name: 'kept' }, { data: { value: '2' } });
  await store.delete({ ...Kinds.ConfigMap, namespace: 'default', name: 'dropped' });
  await store.create(configMap('new', '1'));
  gate.resolve();
  await until(() => synced === 2);
  assert.deepEqual(log.slice(0, 2).sort(), ['add dropped', 'add kept']);
  assert.deepEqual(log.slice(2).sort(), ['add new', 'remove dropped', 'update kept']);
  assert.deepEqual(
    reflector
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ['kept', 'new'],
  );
  await reflector.stop();
  await store.close();
});

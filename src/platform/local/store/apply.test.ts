import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Namespace, Service } from '../../../core/api/core.ts';
import type { Resource } from '../../../core/resource.ts';
import { ConflictError, InvalidError } from '../../../core/store.ts';
import type { ManagedFieldsEntry } from './apply.ts';
import { applyConfiguration } from './apply.ts';
import { openLocalStore } from './open.ts';

const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'settings' };
const config = (data: Record<string, string>, labels?: Record<string, string>): Resource => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: labels
    ? { name: 'settings', namespace: 'default', labels }
    : { name: 'settings', namespace: 'default' },
  data,
});

describe('local store: server-side apply', { timeout: 120_000 }, () => {
  it('applying what is already there changes nothing, not even the manager’s time', async () => {
    const first = applyConfiguration(
      undefined,
      config({ a: '1' }),
      { fieldManager: 'cli' },
      '2026-01-01T00:00:00Z',
    );
    const stored = { ...first, metadata: { ...first.metadata, resourceVersion: '7' } };
    const again = applyConfiguration(
      stored,
      config({ a: '1' }),
      { fieldManager: 'cli' },
      '2026-01-01T00:05:00Z',
    );
    assert.equal((again.metadata.managedFields as ManagedFieldsEntry[])[0]?.time, '2026-01-01T00:00:00Z');
    const changed = applyConfiguration(
      stored,
      config({ a: '2' }),
      { fieldManager: 'cli' },
      '2026-01-01T00:05:00Z',
    );
    assert.equal((changed.metadata.managedFields as ManagedFieldsEntry[])[0]?.time, '2026-01-01T00:05:00Z');

    const store = await openLocalStore({});
    const namespace: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };
    const created = await store.apply(namespace, { fieldManager: 'cli' });
    const reapplied = await store.apply(namespace, { fieldManager: 'cli' });
    assert.equal(reapplied.metadata.resourceVersion, created.metadata.resourceVersion);
    await store.close();
  });

  it('creates, records the manager’s fields, and removes fields it stops sending', async () => {
    const store = await openLocalStore({});
    const created = await store.apply(config({ a: '1', b: '2' }, { app: 'x' }), { fieldManager: 'cli' });
    const entries = created.metadata.managedFields as ManagedFieldsEntry[];
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.manager, 'cli');
    assert.deepEqual(entries[0]?.fieldsV1, {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:data': { 'f:a': {}, 'f:b': {} },
    });
    const next = await store.apply(config({ a: '1' }), { fieldManager: 'cli' });
    assert.deepEqual(next.data, { a: '1' });
    assert.equal(next.metadata.labels, undefined);
  });

  it('leaves other managers’ fields alone and conflicts on a different value unless forced', async () => {
    const store = await openLocalStore({});
    await store.apply(config({ a: '1' }), { fieldManager: 'one' });
    const both = await store.apply(config({ b: '2' }), { fieldManager: 'two' });
    assert.deepEqual(both.data, { a: '1', b: '2' });
    const error = await store.apply(config({ a: '9' }), { fieldManager: 'two' }).catch((e) => e);
    assert.ok(error instanceof ConflictError);
    assert.match(error.message, /data\.a \(owned by one\)/);
    assert.equal(error.currentResourceVersion, both.metadata.resourceVersion);
    const shared = await store.apply(config({ a: '1', b: '2' }), { fieldManager: 'two' });
    assert.deepEqual(shared.data, { a: '1', b: '2' }, 'same value: shared, no conflict');
    const forced = await store.apply(config({ a: '9', b: '2' }), { fieldManager: 'two', force: true });
    assert.deepEqual(forced.data, { a: '9', b: '2' });
    const one = (forced.metadata.managedFields as ManagedFieldsEntry[]).find((e) => e.manager === 'one');
    assert.equal(one, undefined, 'manager one lost its only field');
    const dropped = await store.apply(config({}), { fieldManager: 'two' });
    assert.deepEqual(dropped.data, {});
  });

  it('keeps a field another manager still owns when one manager drops it', async () => {
    const store = await openLocalStore({});
    await store.apply(config({ a: '1' }), { fieldManager: 'one' });
    await store.apply(config({ a: '1' }), { fieldManager: 'two' });
    const after = await store.apply(config({}), { fieldManager: 'two' });
    assert.deepEqual(after.data, { a: '1' });
  });

  it('requires a field manager', async () => {
    const store = await openLocalStore({});
    await assert.rejects(store.apply(config({}), { fieldManager: '' }), InvalidError);
    assert.equal(await store.get(ref), undefined);
  });

  describe('lists merged by key', () => {
    const service = (ports: Record<string, unknown>[], selector?: Record<string, string>): Resource => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: selector ? { selector, ports } : { ports },
    });
    const web = { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' };
    const portsOf = (object: Resource | undefined) => (object as Service | undefined)?.spec?.ports ?? [];
    const owned = (object: Resource, manager: string) =>
      (object.metadata.managedFields as ManagedFieldsEntry[]).find((e) => e.manager === manager)?.fieldsV1;

    it('lets two managers own different ports of one Service, each item by its key', async () => {
      const store = await openLocalStore({});
      await store.apply(service([{ name: 'http', port: 80, targetPort: 8080 }], { app: 'web' }), {
        fieldManager: 'app',
      });
      const both = await store.apply(service([{ name: 'metrics', port: 9090, protocol: 'TCP' }]), {
        fieldManager: 'monitoring',
      });
      assert.deepEqual(
        portsOf(both).map((p) => `${p.name}/${p.port}`),
        ['http/80', 'metrics/9090'],
      );
      assert.deepEqual(owned(both, 'monitoring'), {
        'f:spec': {
          'f:ports': {
            'k:{"port":9090,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {} },
          },
        },
      });
      const app = owned(both, 'app') as { 'f:spec': { 'f:ports': Record<string, unknown> } };
      assert.deepEqual(Object.keys(app['f:spec']['f:ports']), ['k:{"port":80,"protocol":"TCP"}']);

      // The app moves its port: its old item goes, the other manager's item stays.
      const moved = await store.apply(service([{ name: 'http', port: 8000 }], { app: 'web' }), {
        fieldManager: 'app',
      });
      assert.deepEqual(
        portsOf(moved).map((p) => p.port),
        [9090, 8000],
      );
      // The other manager drops its port: only the app's remains.
      const alone = await store.apply(
        { ...service([]), spec: { ports: [] } },
        { fieldManager: 'monitoring' },
      );
      assert.deepEqual(
        portsOf(alone).map((p) => p.port),
        [8000],
      );
      assert.equal(owned(alone, 'monitoring'), undefined);
      assert.deepEqual(portsOf(await store.get(web)), portsOf(alone));
    });

    it('conflicts on a field of the same item with another value, and force takes it over', async () => {
      const store = await openLocalStore({});
      const first = await store.apply(service([{ name: 'http', port: 80 }], { app: 'web' }), {
        fieldManager: 'app',
      });
      const error = await store
        .apply(service([{ name: 'web', port: 80, protocol: 'TCP' }]), { fieldManager: 'other' })
        .catch((e) => e);
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /spec\.ports\[port=80,protocol="TCP"\]\.name \(owned by app\)/);
      assert.equal(error.currentResourceVersion, first.metadata.resourceVersion);
      assert.deepEqual(portsOf(await store.get(web)), portsOf(first), 'nothing changed');

      // Asserting the same item with the same values is no conflict: both own it.
      const shared = await store.apply(service([{ name: 'http', port: 80 }]), { fieldManager: 'other' });
      assert.equal(portsOf(shared).length, 1);
      const kept = await store.apply(service([], { app: 'web' }), { fieldManager: 'app' });
      assert.deepEqual(
        portsOf(kept).map((p) => p.name),
        ['http'],
        'the other manager still holds the item',
      );

      const forced = await store.apply(service([{ name: 'web', port: 80 }]), {
        fieldManager: 'third',
        force: true,
      });
      assert.deepEqual(
        portsOf(forced).map((p) => p.name),
        ['web'],
      );
      const other = owned(forced, 'other') as { 'f:spec': { 'f:ports': Record<string, object> } };
      assert.deepEqual(Object.keys(other['f:spec']['f:ports']['k:{"port":80,"protocol":"TCP"}'] ?? {}), [
        '.',
        'f:port',
        'f:protocol',
      ]);
    });

    it('reads ownership of a whole list, recorded before lists merged by key, as ownership of its items', () => {
      const current: Resource = {
        ...service([{ name: 'http', port: 80, protocol: 'TCP' }], { app: 'web' }),
        metadata: {
          name: 'web',
          namespace: 'shop',
          resourceVersion: '7',
          managedFields: [
            {
              manager: 'cli',
              operation: 'Apply',
              apiVersion: 'v1',
              time: '2026-01-01T00:00:00Z',
              fieldsType: 'FieldsV1',
              fieldsV1: { 'f:spec': { 'f:ports': {}, 'f:selector': { 'f:app': {} } } },
            },
          ],
        },
      };
      const result = applyConfiguration(
        current,
        service([{ name: 'http', port: 8080 }], { app: 'web' }),
        { fieldManager: 'cli' },
        '2026-01-02T00:00:00Z',
      );
      assert.deepEqual(portsOf(result), [{ name: 'http', port: 8080, protocol: 'TCP' }]);
      const cli = owned(result, 'cli') as { 'f:spec': { 'f:ports': Record<string, unknown> } };
      assert.deepEqual(Object.keys(cli['f:spec']['f:ports']), ['k:{"port":8080,"protocol":"TCP"}']);
    });

    it('rejects a list with two items of one key, naming the item', async () => {
      const store = await openLocalStore({});
      const error = await store
        .apply(service([{ port: 80 }, { port: 80, protocol: 'TCP', name: 'again' }], { app: 'web' }), {
          fieldManager: 'app',
        })
        .catch((e) => e);
      assert.ok(error instanceof InvalidError);
      assert.match(error.message, /spec\.ports\[1\]: duplicates the item \[port=80,protocol="TCP"\]/);
      assert.equal(await store.get(web), undefined);
    });

    it('merges set lists by value: each manager owns its finalizers', async () => {
      const store = await openLocalStore({});
      const namespace = (finalizers: string[]): Resource => ({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'shop' },
        spec: { finalizers },
      });
      await store.apply(namespace(['a.example/one']), { fieldManager: 'one' });
      const both = await store.apply(namespace(['b.example/two']), { fieldManager: 'two' });
      assert.deepEqual((both as Namespace).spec?.finalizers, ['a.example/one', 'b.example/two']);
      const after = await store.apply(namespace([]), { fieldManager: 'one' });
      assert.deepEqual((after as Namespace).spec?.finalizers, ['b.example/two']);
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.ts';
import { ConflictError, InvalidError } from '../../../core/store.ts';
import type { ManagedFieldsEntry } from './apply.ts';
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
});

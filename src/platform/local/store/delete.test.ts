import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.ts';
import { ConflictError, ForbiddenError } from '../../../core/store.ts';
import { FOREGROUND_FINALIZER } from './lifecycle.ts';
import { openLocalStore } from './open.ts';
import { configMap, service, take } from './test-objects.ts';

const SERVICE = { apiVersion: 'v1', kind: 'Service' };
const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const ref = (name: string, kind = SERVICE, namespace = 'default') => ({ ...kind, namespace, name });

function ownedBy(object: Resource, ...owners: Resource[]): Resource {
  const ownerReferences = owners.map((o) => ({
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    uid: o.metadata.uid as string,
  }));
  return { ...object, metadata: { ...object.metadata, ownerReferences } };
}

describe('local store: delete, finalizers, garbage collection', { timeout: 120_000 }, () => {
  it('deletes, and resolves false for what does not exist', async () => {
    const store = await openLocalStore({});
    await store.create(service('web'));
    assert.equal(await store.delete(ref('web')), true);
    assert.equal(await store.get(ref('web')), undefined);
    assert.equal(await store.delete(ref('web')), false);
  });

  it('checks uid and resourceVersion preconditions', async () => {
    const store = await openLocalStore({});
    const created = await store.create(service('web'));
    await assert.rejects(store.delete(ref('web'), { preconditions: { uid: 'other' } }), ConflictError);
    await assert.rejects(
      store.delete(ref('web'), { preconditions: { resourceVersion: '99' } }),
      ConflictError,
    );
    assert.equal(
      await store.delete(ref('web'), { preconditions: { uid: created.metadata.uid as string } }),
      true,
    );
  });

  it('keeps an object with finalizers, marked, until the last finalizer is removed', async () => {
    const store = await openLocalStore({});
    await store.create({
      ...service('web'),
      metadata: { name: 'web', namespace: 'default', finalizers: ['a', 'b'] },
    });
    assert.equal(await store.delete(ref('web')), true);
    const marked = (await store.get(ref('web'))) as Resource;
    assert.ok(marked.metadata.deletionTimestamp);
    await assert.rejects(
      store.update({ ...marked, metadata: { ...marked.metadata, finalizers: ['a', 'b', 'c'] } }),
      ForbiddenError,
    );
    const one = await store.update({ ...marked, metadata: { ...marked.metadata, finalizers: ['b'] } });
    assert.deepEqual(one.metadata.finalizers, ['b']);
    await store.patch(ref('web'), { metadata: { finalizers: null } });
    assert.equal(await store.get(ref('web')), undefined);
  });

  it('collects dependents in the background once their only owner is gone', async () => {
    const store = await openLocalStore({});
    const owner = await store.create(service('owner'));
    const other = await store.create(service('other'));
    await store.create(ownedBy(configMap('only'), owner));
    await store.create(ownedBy(configMap('shared'), owner, other));
    const grandchildOwner = await store.create(ownedBy(service('child'), owner));
    await store.create(ownedBy(configMap('grandchild'), grandchildOwner));
    await store.delete(ref('owner'));
    await store.settled();
    const left = (await store.list(CONFIG_MAP)).items;
    assert.deepEqual(
      left.map((o) => o.metadata.name),
      ['shared'],
    );
    assert.deepEqual(
      left[0]?.metadata.ownerReferences?.map((r) => r.name),
      ['other'],
    );
    assert.equal(await store.get(ref('child')), undefined);
  });

  it('collects an object written with owner references to owners that are all gone', async () => {
    const store = await openLocalStore({});
    const owner = await store.create(service('owner'));
    const dangling = ownedBy(configMap('dangling'), {
      ...owner,
      metadata: { ...owner.metadata, uid: 'gone' },
    });
    await store.create(dangling);
    await store.create(ownedBy(configMap('kept'), owner));
    await store.settled();
    assert.deepEqual(
      (await store.list(CONFIG_MAP)).items.map((o) => o.metadata.name),
      ['kept'],
    );
  });

  it('orphans dependents when asked', async () => {
    const store = await openLocalStore({});
    const owner = await store.create(service('owner'));
    await store.create(ownedBy(configMap('kept'), owner));
    await store.delete(ref('owner'), { propagationPolicy: 'Orphan' });
    await store.settled();
    const kept = await store.get(ref('kept', CONFIG_MAP));
    assert.equal(kept?.metadata.ownerReferences, undefined);
  });

  it('foreground deletion removes dependents before the owner', async () => {
    const store = await openLocalStore({});
    const owner = await store.create(service('owner'));
    await store.create({
      ...ownedBy(configMap('held'), owner),
      metadata: { ...ownedBy(configMap('held'), owner).metadata, finalizers: ['x'] },
    });
    await store.delete(ref('owner'), { propagationPolicy: 'Foreground' });
    await store.settled();
    const waiting = await store.get(ref('owner'));
    assert.deepEqual(waiting?.metadata.finalizers, [FOREGROUND_FINALIZER]);
    assert.ok((await store.get(ref('held', CONFIG_MAP)))?.metadata.deletionTimestamp);
    await store.patch(ref('held', CONFIG_MAP), { metadata: { finalizers: null } });
    await store.settled();
    assert.equal(await store.get(ref('owner')), undefined);
  });

  it('deleting a namespace removes its objects, refuses new ones meanwhile, then goes', async () => {
    const store = await openLocalStore({});
    const NAMESPACE = { apiVersion: 'v1', kind: 'Namespace' };
    const ns = await store.create<Resource>({ ...NAMESPACE, metadata: { name: 'team' } });
    assert.deepEqual(ns.status, { phase: 'Active' });
    await store.create(service('a', 'team'));
    await store.create({
      ...configMap('b', 'team'),
      metadata: { name: 'b', namespace: 'team', finalizers: ['hold'] },
    });
    await store.create(service('elsewhere', 'default'));
    await store.delete({ ...NAMESPACE, name: 'team' });
    await store.settled();
    const terminating = await store.get({ ...NAMESPACE, name: 'team' });
    assert.deepEqual(terminating?.status, { phase: 'Terminating' });
    await assert.rejects(store.create(service('new', 'team')), ForbiddenError);
    assert.equal(await store.get(ref('a', SERVICE, 'team')), undefined);
    await store.patch(ref('b', CONFIG_MAP, 'team'), { metadata: { finalizers: null } });
    await store.settled();
    assert.equal(await store.get({ ...NAMESPACE, name: 'team' }), undefined);
    assert.ok(await store.get(ref('elsewhere')));
  });

  it('deletes Events that have not been repeated within their time to live', async () => {
    const store = await openLocalStore({ eventTtlMs: 30 });
    const event = (name: string, lastTimestamp: string): Resource => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'Service', name: 'web' },
      reason: 'Seen',
      message: 'm',
      type: 'Normal',
      lastTimestamp,
    });
    await store.create(event('old', '2000-01-01T00:00:00Z'));
    await store.create(event('fresh', '2999-01-01T00:00:00Z'));
    const gone = take(store.watch({ apiVersion: 'v1', kind: 'Event' }, { resourceVersion: '2' }), 1);
    assert.deepEqual(
      (await gone).map((e) => `${e.type} ${e.object.metadata.name}`),
      ['DELETED old'],
    );
    assert.ok(await store.get({ apiVersion: 'v1', kind: 'Event', namespace: 'default', name: 'fresh' }));
    await store.close();
  });
});

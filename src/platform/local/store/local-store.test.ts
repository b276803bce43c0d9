import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError } from '../../../core/store.ts';
import { UnknownKindError } from './errors.ts';
import { openLocalStore } from './open.ts';
import { configMap, service, serviceSpec } from './test-objects.ts';

const SERVICE = { apiVersion: 'v1', kind: 'Service' };

describe('local store: create, get, list, update', { timeout: 120_000 }, () => {
  it('create assigns uid, creationTimestamp, generation and a new resourceVersion', async () => {
    const store = await openLocalStore({});
    const created = await store.create(service('web'));
    assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(created.metadata.generation, 1);
    assert.equal(created.metadata.resourceVersion, '1');
    const again = await store.create(service('api'));
    assert.equal(again.metadata.resourceVersion, '2');
    assert.deepEqual(await store.get({ ...SERVICE, namespace: 'default', name: 'web' }), created);
    await assert.rejects(store.create(service('web')), { code: 'E_ALREADY_EXISTS' });
  });

  it('names objects from generateName', async () => {
    const store = await openLocalStore({});
    const template = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: '', namespace: 'default', generateName: 'job-' },
    };
    const a = await store.create(template);
    const b = await store.create(template);
    assert.match(a.metadata.name, /^job-[a-z0-9]{5}$/);
    assert.notEqual(a.metadata.name, b.metadata.name);
  });

  it('rejects what cannot be stored as JSON, with a StraitError', async () => {
    const store = await openLocalStore({});
    const circular: Record<string, unknown> = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'default' },
    };
    circular.self = circular;
    await assert.rejects(store.create(circular as never), { code: 'E_INVALID' });
    await assert.rejects(store.create(null as never), { code: 'E_INVALID' });
    await assert.rejects(store.create([] as never), { code: 'E_INVALID' });
  });

  it('returns copies: changing a returned object changes nothing stored', async () => {
    const store = await openLocalStore({});
    const created = await store.create(service('web'));
    (created.spec as { ports: unknown[] }).ports.push({ port: 81 });
    const stored = await store.get({ ...SERVICE, namespace: 'default', name: 'web' });
    assert.deepEqual(stored?.spec, serviceSpec(80));
  });

  it('ignores status on create for kinds with a status subresource', async () => {
    const store = await openLocalStore({});
    const created = await store.create({ ...service('web'), status: { loadBalancer: {} } });
    assert.equal(created.status, undefined);
  });

  it('lists by namespace and label selector, with the version to watch from', async () => {
    const store = await openLocalStore({});
    await store.create(service('a', 'one', { app: 'a', tier: 'web' }));
    await store.create(service('b', 'one', { app: 'b' }));
    await store.create(service('c', 'two', { app: 'a' }));
    await store.create(configMap('a', 'one'));
    const names = async (options: Parameters<typeof store.list>[1]) =>
      (await store.list(SERVICE, options)).items.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
    assert.deepEqual(await names({}), ['one/a', 'one/b', 'two/c']);
    assert.deepEqual(await names({ namespace: 'one' }), ['one/a', 'one/b']);
    assert.deepEqual(await names({ labelSelector: 'app=a' }), ['one/a', 'two/c']);
    assert.deepEqual(await names({ labelSelector: { matchLabels: { app: 'a' } }, namespace: 'two' }), [
      'two/c',
    ]);
    assert.deepEqual(await names({ labelSelector: '!tier' }), ['one/b', 'two/c']);
    assert.equal((await store.list(SERVICE)).resourceVersion, '4');
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'one' } });
    const namespaces = await store.list({ apiVersion: 'v1', kind: 'Namespace' }, { namespace: 'two' });
    assert.equal(namespaces.items.length, 1, 'a namespace option does not hide cluster-scoped objects');
  });

  it('update is optimistic: a stale resourceVersion is a conflict naming the current one', async () => {
    const store = await openLocalStore({});
    const created = await store.create(service('web'));
    const updated = await store.update({ ...created, metadata: { ...created.metadata, labels: { a: 'b' } } });
    assert.equal(updated.metadata.resourceVersion, '2');
    const error = await store.update(created).catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError);
    assert.equal(error.currentResourceVersion, '2');
    assert.match(error.message, /current resourceVersion 2/);
  });

  it('bumps generation only when the spec changes, and skips writes that change nothing', async () => {
    const store = await openLocalStore({});
    const created = await store.create(service('web'));
    const relabeled = await store.update({
      ...created,
      metadata: { ...created.metadata, labels: { a: 'b' } },
    });
    assert.equal(relabeled.metadata.generation, 1);
    const respecced = await store.update({ ...relabeled, spec: serviceSpec(8080) });
    assert.equal(respecced.metadata.generation, 2);
    const same = await store.update(respecced);
    assert.equal(same.metadata.resourceVersion, respecced.metadata.resourceVersion);
  });

  it('keeps server-owned metadata on update', async () => {
    const store = await openLocalStore({});
    const created = await store.create(service('web'));
    const updated = await store.update({
      ...created,
      metadata: {
        ...created.metadata,
        uid: undefined,
        creationTimestamp: '2000-01-01T00:00:00Z',
        generation: 9,
      },
      spec: serviceSpec(81),
    });
    assert.equal(updated.metadata.uid, created.metadata.uid);
    assert.equal(updated.metadata.creationTimestamp, created.metadata.creationTimestamp);
    assert.equal(updated.metadata.generation, 2);
  });

  it('update through the main resource never changes status; updateStatus changes only status', async () => {
    const store = await openLocalStore({});
    const created = await store.create(service('web'));
    const withStatus = await store.updateStatus({
      ...created,
      status: { loadBalancer: { ingress: [{ ip: '127.0.0.9' }] } },
    });
    assert.deepEqual(withStatus.status, { loadBalancer: { ingress: [{ ip: '127.0.0.9' }] } });
    assert.equal(withStatus.metadata.generation, 1);
    const attempt = await store.update({ ...withStatus, status: {}, spec: serviceSpec(1) });
    assert.deepEqual(attempt.status, withStatus.status);
    assert.equal(attempt.metadata.generation, 2);
    const statusOnly = await store.updateStatus({ ...attempt, spec: serviceSpec(2), status: {} });
    assert.deepEqual(statusOnly.spec, serviceSpec(1));
    assert.deepEqual(statusOnly.status, {});
    await assert.rejects(store.updateStatus({ ...attempt, status: {} }), ConflictError);
    await assert.rejects(store.updateStatus(configMap('x')), ForbiddenError);
  });

  it('patch merges (RFC 7396) and checks a resourceVersion it carries', async () => {
    const store = await openLocalStore({});
    await store.create(service('web', 'default', { a: '1', b: '2' }));
    const ref = { ...SERVICE, namespace: 'default', name: 'web' };
    const patched = await store.patch(ref, {
      metadata: { labels: { a: null, c: '3' } },
      spec: { clusterIP: 'None' },
    });
    assert.deepEqual(patched.metadata.labels, { b: '2', c: '3' });
    assert.deepEqual(patched.spec, { ...serviceSpec(80), clusterIP: 'None' });
    assert.equal(patched.metadata.generation, 2);
    await assert.rejects(store.patch(ref, { metadata: { resourceVersion: '1', labels: {} } }), ConflictError);
    await assert.rejects(store.patch(ref, { metadata: { name: 'other' } }), InvalidError);
    await assert.rejects(store.patch({ ...ref, name: 'missing' }, {}), NotFoundError);
  });

  it('rejects unknown kinds and objects without name or namespace, with field paths', async () => {
    const store = await openLocalStore({});
    await assert.rejects(
      store.create({ apiVersion: 'v9', kind: 'Nope', metadata: { name: 'x' } }),
      UnknownKindError,
    );
    const error = await store
      .create({ apiVersion: 'v1', kind: 'Service', metadata: { name: '' } })
      .catch((e) => e);
    assert.ok(error instanceof InvalidError);
    assert.deepEqual(
      error.fields.map((f) => f.field),
      ['metadata.name', 'metadata.namespace'],
    );
    await assert.rejects(
      store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'y' } }),
      /cluster-scoped/,
    );
    assert.equal(store.size, 0);
  });

  it('validates at write with field paths, keeping what is stored', async () => {
    const store = await openLocalStore({});
    const created = await store.create(service('web'));
    const bad = { ...created, spec: { ports: [{ port: 70000 }] } };
    const error = await store.update(bad).catch((e: unknown) => e);
    assert.ok(error instanceof InvalidError);
    assert.deepEqual(error.fields, [
      { field: 'spec.ports[0].port', reason: 'must be between 1 and 65535 (got 70000)' },
    ]);
    assert.match(error.message, /^Service default\/web is invalid: spec\.ports\[0\]\.port: must be between/);
    assert.deepEqual(await store.get({ ...SERVICE, namespace: 'default', name: 'web' }), created);
    await assert.rejects(store.create({ ...service('Bad_Name') }), { code: 'E_INVALID' });
    await assert.rejects(
      store.patch({ ...SERVICE, namespace: 'default', name: 'web' }, { spec: { ports: 'x' } }),
      {
        code: 'E_INVALID',
      },
    );
    assert.equal(store.size, 1);
  });

  it('fills in schema defaults', async () => {
    const store = await openLocalStore({});
    const created = await store.create({ ...service('web'), spec: { ports: [{ port: 80 }] } });
    assert.deepEqual(created.spec, serviceSpec(80));
  });

  it('a closed store refuses calls', async () => {
    const store = await openLocalStore({});
    await store.close();
    await assert.rejects(store.get({ ...SERVICE, namespace: 'default', name: 'web' }), {
      code: 'E_STORE_CLOSED',
    });
  });
});

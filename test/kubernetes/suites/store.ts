import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
} from '../../../src/core/store.ts';
import { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { KubernetesStore, UnknownKindError } from '../../../src/platform/kubernetes/store.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { configMap, eventually, freshNamespace, storeOn } from './fixtures.ts';

interface Service extends Resource {
  spec: { type?: string; ports: { port: number; targetPort?: number }[]; selector?: Record<string, string> };
  status?: { loadBalancer?: { ingress?: { ip: string; ipMode?: string }[] } };
}

function lb(namespace: string): Service {
  const object = service(namespace, 'lb');
  return { ...object, spec: { ...object.spec, type: 'LoadBalancer' } };
}

function service(namespace: string, name: string, port = 80): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { ports: [{ port }], selector: { app: name } },
  };
}

/** CRUD, lists, errors, server-side apply, status, patches and deletion against the real API server. */
export async function storeTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const west = storeOn(clusters, 'west');
  const east = storeOn(clusters, 'east');

  await t.test('store: create, get, optimistic update and delete a Service', async () => {
    const ns = await freshNamespace(west, 'crud');
    const created = await west.create(service(ns, 'web'));
    assert.equal(created.kind, 'Service');
    assert.ok(created.metadata.uid && created.metadata.resourceVersion);
    await assert.rejects(west.create(service(ns, 'web')), AlreadyExistsError);

    const read = await west.get<Service>({ ...Kinds.Service, namespace: ns, name: 'web' });
    assert.equal(read?.spec.ports[0]?.port, 80);
    const updated = await west.update({
      ...(read as Service),
      spec: { ...(read as Service).spec, ports: [{ port: 81 }] },
    });
    assert.equal(updated.spec.ports[0]?.port, 81);

    const stale = await west
      .update({ ...(read as Service), spec: { ...(read as Service).spec, ports: [{ port: 82 }] } })
      .then(
        () => assert.fail('a stale resourceVersion must conflict'),
        (error: unknown) => error,
      );
    assert.ok(stale instanceof ConflictError, String(stale));
    assert.equal(stale.code, 'E_CONFLICT');
    assert.equal(stale.currentResourceVersion, updated.metadata.resourceVersion);

    assert.equal(await west.delete({ ...Kinds.Service, namespace: ns, name: 'web' }), true);
    assert.equal(await west.get({ ...Kinds.Service, namespace: ns, name: 'web' }), undefined);
    assert.equal(await west.delete({ ...Kinds.Service, namespace: ns, name: 'web' }), false);
  });

  await t.test('store: an update without resourceVersion replaces the current object', async () => {
    const ns = await freshNamespace(west, 'blind');
    await west.create(configMap(ns, 'settings', { a: '1' }));
    const updated = await west.update(configMap(ns, 'settings', { b: '2' }));
    assert.deepEqual(updated.data, { b: '2' });
  });

  await t.test('store: the two clusters are separate', async () => {
    const ns = await freshNamespace(west, 'only-west');
    assert.equal(await east.get({ ...Kinds.Namespace, name: ns }), undefined);
    assert.notEqual(west.server, east.server);
  });

  await t.test('store: lists filter by namespace and label selector and page through', async () => {
    const [a, b] = [await freshNamespace(west, 'list-a'), await freshNamespace(west, 'list-b')];
    await west.create(configMap(a, 'one', {}, { tier: 'web', track: 'stable' }));
    await west.create(configMap(a, 'two', {}, { tier: 'db' }));
    await west.create(configMap(a, 'three', {}, { tier: 'cache', track: 'canary' }));
    await west.create(configMap(b, 'four', {}, { tier: 'web' }));
    const names = (items: Resource[]) => items.map((item) => item.metadata.name).sort();

    const all = await west.list(Kinds.ConfigMap, { namespace: a });
    // kube-root-ca.crt is published into every namespace only by a controller we do not run.
    assert.deepEqual(names(all.items), ['one', 'three', 'two']);
    assert.match(all.resourceVersion, /^\d+$/);
    assert.ok(all.items.every((item) => item.kind === 'ConfigMap' && item.apiVersion === 'v1'));

    const web = await west.list(Kinds.ConfigMap, { labelSelector: { matchLabels: { tier: 'web' } } });
    assert.deepEqual(names(web.items), ['four', 'one']);
    const set = await west.list(Kinds.ConfigMap, { namespace: a, labelSelector: 'tier in (db,cache)' });
    assert.deepEqual(names(set.items), ['three', 'two']);
    const untracked = await west.list(Kinds.ConfigMap, {
      namespace: a,
      labelSelector: { matchExpressions: [{ key: 'track', operator: 'DoesNotExist' }] },
    });
    assert.deepEqual(names(untracked.items), ['two']);

    const paged = storeOn(clusters, 'west', { listPageSize: 1 });
    assert.deepEqual(names((await paged.list(Kinds.ConfigMap, { namespace: a })).items), [
      'one',
      'three',
      'two',
    ]);
  });

  await t.test('store: API errors map to the store error classes', async () => {
    const ns = await freshNamespace(west, 'errors');
    const invalid = await west.create(service(ns, 'bad', 70000)).then(
      () => assert.fail('port 70000 must be rejected'),
      (error: unknown) => error,
    );
    assert.ok(invalid instanceof InvalidError, String(invalid));
    assert.equal(invalid.code, 'E_INVALID');
    assert.ok(
      invalid.fields.some((f) => f.field === 'spec.ports[0].port'),
      JSON.stringify(invalid.fields),
    );

    await assert.rejects(
      west.patch({ ...Kinds.ConfigMap, namespace: ns, name: 'absent' }, { data: {} }),
      NotFoundError,
    );
    await assert.rejects(
      west.get({ apiVersion: 'example.com/v1', kind: 'Gadget', name: 'x' }),
      UnknownKindError,
    );
    await assert.rejects(west.create(service('no-such-namespace', 'web')), NotFoundError);

    // Before the CRDs are installed (the CRD tests run last), Strait's kinds are not served at all.
    await assert.rejects(west.list(Kinds.Link, { namespace: ns }), {
      code: 'E_KIND_NOT_SERVED',
      message: /links\.multicluster\.strait\.io/,
    });
    await assert.rejects(west.get({ ...Kinds.Link, namespace: ns, name: 'east' }), {
      code: 'E_KIND_NOT_SERVED',
    });
    await assert.rejects(west.delete({ ...Kinds.Link, namespace: ns, name: 'east' }), {
      code: 'E_KIND_NOT_SERVED',
    });
    const watch = west.watch(Kinds.Server, { namespace: ns, resourceVersion: '1' })[Symbol.asyncIterator]();
    await assert.rejects(watch.next(), { code: 'E_KIND_NOT_SERVED' });

    const config = new KubeConfig();
    config.loadFromFile(clusters.kubeconfig);
    config.setCurrentContext('west');
    const user = config.getCurrentUser();
    assert.ok(user);
    // The admin may impersonate; the impersonated user has no RBAC rights at all.
    (user as { impersonateUser?: string }).impersonateUser = 'strait-test-nobody';
    const nobody = new KubernetesStore(new KubeClient(config));
    const forbidden = await nobody.list(Kinds.Secret, { namespace: ns }).then(
      () => assert.fail('a user without rights must be refused'),
      (error: unknown) => error,
    );
    assert.ok(forbidden instanceof ForbiddenError, String(forbidden));
    assert.match(forbidden.message, /strait-test-nobody/);
  });

  await t.test('store: server-side apply owns fields per manager and reports conflicts', async () => {
    const ns = await freshNamespace(west, 'apply');
    const first = await west.apply(configMap(ns, 'shared', { color: 'blue', size: 'm' }), {
      fieldManager: 'alpha',
    });
    assert.deepEqual(first.data, { color: 'blue', size: 'm' });
    // Re-applying the same configuration is a no-op for the object.
    const again = await west.apply(configMap(ns, 'shared', { color: 'blue', size: 'm' }), {
      fieldManager: 'alpha',
    });
    assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion);

    const conflict = await west
      .apply(configMap(ns, 'shared', { color: 'red' }), { fieldManager: 'beta' })
      .then(
        () => assert.fail('beta must not take alpha’s field silently'),
        (error: unknown) => error,
      );
    assert.ok(conflict instanceof ConflictError, String(conflict));
    assert.match(conflict.message, /alpha/);
    assert.equal(conflict.currentResourceVersion, first.metadata.resourceVersion);

    const forced = await west.apply(configMap(ns, 'shared', { color: 'red' }), {
      fieldManager: 'beta',
      force: true,
    });
    assert.deepEqual(forced.data, { color: 'red', size: 'm' });
    const managers = (forced.metadata.managedFields as { manager: string }[]).map((m) => m.manager).sort();
    assert.deepEqual(managers, ['alpha', 'beta']);

    // alpha stops applying `size`: the field it alone owned goes away.
    const shrunk = await west.apply(configMap(ns, 'shared', {}), { fieldManager: 'alpha' });
    assert.deepEqual(shrunk.data, { color: 'red' });
  });

  await t.test('store: status goes only through the status subresource', async () => {
    const ns = await freshNamespace(west, 'status');
    const created = await west.create(lb(ns));
    const ingress = { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] } };
    const viaUpdate = await west.update({ ...created, status: ingress });
    assert.deepEqual(viaUpdate.status?.loadBalancer ?? {}, {});

    const withStatus = await west.updateStatus({ ...viaUpdate, status: ingress });
    assert.deepEqual(withStatus.status?.loadBalancer, ingress.loadBalancer);
    assert.equal(withStatus.spec.ports[0]?.port, 80);
    // The status write moved the version on: a write based on the older copy conflicts.
    await assert.rejects(west.updateStatus({ ...viaUpdate, status: { loadBalancer: {} } }), ConflictError);

    const unversioned = lb(ns);
    unversioned.status = { loadBalancer: { ingress: [{ ip: '192.0.2.11' }] } };
    const blind = await west.updateStatus(unversioned);
    assert.equal(blind.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.11');
    await assert.rejects(west.updateStatus(configMap(ns, 'x', {})), ForbiddenError);
  });

  await t.test('store: merge patch adds and removes fields', async () => {
    const ns = await freshNamespace(west, 'patch');
    await west.create(configMap(ns, 'cm', { keep: '1', drop: '2' }, { a: 'x' }));
    const patched = await west.patch(
      { ...Kinds.ConfigMap, namespace: ns, name: 'cm' },
      {
        metadata: { labels: { a: null, b: 'y' } },
        data: { drop: null, add: '3' },
      },
    );
    assert.deepEqual(patched.metadata.labels, { b: 'y' });
    assert.deepEqual(patched.data, { keep: '1', add: '3' });
  });

  await t.test('store: finalizers hold a deletion until they are removed', async () => {
    const ns = await freshNamespace(west, 'finalize');
    const object = configMap(ns, 'held', {});
    await west.create({ ...object, metadata: { ...object.metadata, finalizers: ['strait.io/test'] } });
    assert.equal(await west.delete({ ...Kinds.ConfigMap, namespace: ns, name: 'held' }), true);
    const marked = await west.get({ ...Kinds.ConfigMap, namespace: ns, name: 'held' });
    assert.ok(marked?.metadata.deletionTimestamp, 'the object stays, marked for deletion');
    await west.patch({ ...Kinds.ConfigMap, namespace: ns, name: 'held' }, { metadata: { finalizers: null } });
    assert.equal(await west.get({ ...Kinds.ConfigMap, namespace: ns, name: 'held' }), undefined);
  });

  await t.test('store: delete preconditions guard against deleting a newer object', async () => {
    const ns = await freshNamespace(west, 'precondition');
    const created = await west.create(configMap(ns, 'cm', { v: '1' }));
    await west.patch({ ...Kinds.ConfigMap, namespace: ns, name: 'cm' }, { data: { v: '2' } });
    const ref = { ...Kinds.ConfigMap, namespace: ns, name: 'cm' };
    await assert.rejects(
      west.delete(ref, { preconditions: { resourceVersion: created.metadata.resourceVersion as string } }),
      ConflictError,
    );
    assert.equal(await west.delete(ref, { preconditions: { uid: created.metadata.uid as string } }), true);
  });

  await t.test('store: the garbage collector deletes dependents of a deleted owner', async () => {
    const ns = await freshNamespace(west, 'gc');
    const owner = await west.create(configMap(ns, 'owner', {}));
    const ownerReferences = [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid as string },
    ];
    for (const name of ['dep-1', 'dep-2']) {
      const dependent = configMap(ns, name, {});
      await west.create({ ...dependent, metadata: { ...dependent.metadata, ownerReferences } });
    }
    assert.equal(
      await west.delete(
        { ...Kinds.ConfigMap, namespace: ns, name: 'owner' },
        { propagationPolicy: 'Foreground' },
      ),
      true,
    );
    await eventually('the dependents and the owner to be collected', async () => {
      const left = await west.list(Kinds.ConfigMap, { namespace: ns });
      return left.items.length === 0;
    });

    const orphanOwner = await west.create(configMap(ns, 'owner2', {}));
    const orphan = configMap(ns, 'orphan', {});
    await west.create({
      ...orphan,
      metadata: {
        ...orphan.metadata,
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner2', uid: orphanOwner.metadata.uid as string },
        ],
      },
    });
    await west.delete({ ...Kinds.ConfigMap, namespace: ns, name: 'owner2' }, { propagationPolicy: 'Orphan' });
    const kept = await eventually('the orphan to lose its owner reference', async () => {
      const current = await west.get({ ...Kinds.ConfigMap, namespace: ns, name: 'orphan' });
      return current && (current.metadata.ownerReferences ?? []).length === 0 ? current : undefined;
    });
    assert.equal(kept.metadata.name, 'orphan');
  });

  await t.test('store: deleting a namespace removes it and its contents', async () => {
    const ns = await freshNamespace(west, 'doomed');
    await west.create(configMap(ns, 'cm', {}));
    await west.delete({ ...Kinds.Namespace, name: ns });
    await eventually(
      'the namespace controller to finish',
      async () => (await west.get({ ...Kinds.Namespace, name: ns })) === undefined,
      120_000,
    );
  });
}

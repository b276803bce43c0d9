import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Service } from '../../../core/api/core.ts';
import { Kinds } from '../../../core/kinds.ts';
import { typeMeta } from '../type-meta.ts';
import { copyJson, intern } from './json-copy.ts';
import { openLocalStore } from './open.ts';

describe('store copies', () => {
  it('copies objects and arrays deeply and keeps scalars', () => {
    const original = { a: [1, { b: 'x', c: null, d: true }], e: { f: 'y' } };
    const copy = copyJson(original);
    assert.deepEqual(copy, original);
    assert.notEqual(copy.a, original.a);
    assert.notEqual(copy.a[1], original.a[1]);
    assert.notEqual(copy.e, original.e);
  });

  it('hands one string per distinct interned value', () => {
    const a = ['ns', '-7'].join('');
    const b = ['ns-', '7'].join('');
    assert.equal(intern(a), intern(b));
  });

  it('gives every caller and watcher its own copy: changing one changes nothing stored', async () => {
    const store = await openLocalStore({});
    const ref = { ...Kinds.Service, namespace: 'shop', name: 'web' };
    const ports = (service: Service | undefined) => service?.spec?.ports ?? [];
    const created = await store.create<Service>({
      ...typeMeta(Kinds.Service),
      metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    const controller = new AbortController();
    const events = store.watch<Service>(Kinds.Service, { signal: controller.signal })[Symbol.asyncIterator]();
    const watched = (await events.next()).value.object as Service;
    for (const object of [created, watched, (await store.list<Service>(Kinds.Service)).items[0] as Service]) {
      ports(object).push({ name: 'extra', port: 81 });
      (object.metadata.labels as Record<string, string>).app = 'changed';
    }
    const got = await store.get<Service>(ref);
    assert.deepEqual(
      ports(got).map((p) => p.port),
      [80],
    );
    assert.equal(got?.metadata.labels?.app, 'web');
    ports(got).length = 0;
    assert.equal(ports(await store.get<Service>(ref)).length, 1);
    controller.abort();
    await store.close();
  });
});

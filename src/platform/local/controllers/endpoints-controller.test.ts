import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoints, Service } from '../../../core/api/core.ts';
import type { Workload } from '../../../core/api/local.ts';
import { Kinds } from '../../../core/kinds.ts';
import { type LocalStore, openLocalStore } from '../store/index.ts';
import { typeMeta } from '../type-meta.ts';
import { startEndpointsController } from './endpoints-controller.ts';

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('startEndpointsController()', () => {
  let store: LocalStore;
  const controller = new AbortController();
  const endpointsOf = (name: string) => store.get<Endpoints>({ ...Kinds.Endpoints, namespace: 'shop', name });

  before(async () => {
    store = await openLocalStore({});
    await store.create({ ...typeMeta(Kinds.Namespace), metadata: { name: 'shop' } });
    await startEndpointsController(store, { signal: controller.signal, log: () => {} });
  });

  after(async () => {
    controller.abort();
    await store.close();
  });

  it('follows workloads as they register, become ready and go away', async () => {
    await store.create<Service>({
      ...typeMeta(Kinds.Service),
      metadata: { name: 'web', namespace: 'shop' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    const workload = await store.create<Workload>({
      ...typeMeta(Kinds.Workload),
      metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
      spec: { serviceAccountName: 'web', ports: [{ name: 'http', port: 8080 }], address: '127.9.1.1' },
    });
    await until(
      'a not-ready address',
      async () => (await endpointsOf('web'))?.subsets?.[0]?.notReadyAddresses,
    );
    await store.updateStatus({ ...workload, status: { address: '127.9.1.1', ready: true } });
    const ready = await until(
      'a ready address',
      async () => (await endpointsOf('web'))?.subsets?.[0]?.addresses,
    );
    assert.deepEqual(
      ready.map((a) => a.ip),
      ['127.9.1.1'],
    );
    assert.equal((await endpointsOf('web'))?.subsets?.[0]?.ports?.[0]?.port, 8080);
    await store.delete({ ...Kinds.Workload, namespace: 'shop', name: 'web-1' });
    await until('no subsets', async () =>
      (await endpointsOf('web'))?.subsets === undefined ? true : undefined,
    );
  });

  it('leaves the Endpoints of services without a selector alone', async () => {
    await store.create<Service>({
      ...typeMeta(Kinds.Service),
      metadata: { name: 'mirror', namespace: 'shop' },
      spec: { ports: [{ port: 80 }] },
    });
    await store.create<Endpoints>({
      ...typeMeta(Kinds.Endpoints),
      metadata: { name: 'mirror', namespace: 'shop' },
      subsets: [{ addresses: [{ ip: '127.8.0.9' }], ports: [{ port: 4143 }] }],
    });
    await store.create<Workload>({
      ...typeMeta(Kinds.Workload),
      metadata: { name: 'other', namespace: 'shop', labels: { app: 'other' } },
      spec: { serviceAccountName: 'other', ports: [{ port: 9000 }], address: '127.9.1.2' },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await endpointsOf('mirror'))?.subsets?.[0]?.addresses?.[0]?.ip, '127.8.0.9');
  });
});

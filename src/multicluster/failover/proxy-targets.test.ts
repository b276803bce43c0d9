import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Workload } from '../../core/api/local.ts';
import { openLocalStore } from '../../platform/local/store/index.ts';
import { ProxyTargets, podMetricsUrl, workloadMetricsUrl } from './proxy-targets.ts';

const workload = (name: string, address: string, proxy: boolean): Workload => ({
  apiVersion: 'local.strait.io/v1alpha1',
  kind: 'Workload',
  metadata: { name, namespace: 'shop' },
  spec: {
    serviceAccountName: 'default',
    ports: [{ port: 8080 }],
    ...(proxy ? { proxy: { inboundPort: 4143, outboundPort: 4140, adminPort: 4191 } } : {}),
  },
  status: { phase: 'Running', address },
});

describe('proxy metrics targets', () => {
  it('maps meshed, running workloads and pods to their admin metrics', () => {
    assert.equal(workloadMetricsUrl(workload('a', '127.1.1.1', true)), 'http://127.1.1.1:4191/metrics');
    assert.equal(workloadMetricsUrl(workload('b', '127.1.1.2', false)), undefined, 'no proxy');
    assert.equal(
      workloadMetricsUrl({ ...workload('c', '127.1.1.3', true), status: { phase: 'Pending' } }),
      undefined,
      'not running',
    );
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: 'shop' },
      spec: { containers: [{ name: 'web' }, { name: 'strait-proxy' }] },
      status: { podIP: '10.1.2.3', phase: 'Running' },
    };
    assert.equal(podMetricsUrl(pod), 'http://10.1.2.3:4191/metrics');
    assert.equal(podMetricsUrl({ ...pod, spec: { containers: [{ name: 'web' }] } }), undefined);
  });

  it('follows workloads in a store', async () => {
    const store = await openLocalStore({});
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    const seen: string[][] = [];
    let changed: () => void = () => {};
    const targets = new ProxyTargets(store, 'local', (urls) => {
      seen.push(urls);
      changed();
    });
    const next = () =>
      new Promise<void>((resolve) => {
        changed = resolve;
      });
    targets.start();
    const run = async (object: Workload) => {
      const created = await store.create(object);
      await store.updateStatus({ ...created, status: object.status });
    };
    let wait = next();
    await run(workload('client', '127.1.1.1', true));
    await wait;
    assert.deepEqual(seen.at(-1), ['http://127.1.1.1:4191/metrics']);
    wait = next();
    await run(workload('web', '127.1.1.2', true));
    await wait;
    assert.deepEqual(targets.urls(), ['http://127.1.1.1:4191/metrics', 'http://127.1.1.2:4191/metrics']);
    wait = next();
    await store.delete({
      apiVersion: 'local.strait.io/v1alpha1',
      kind: 'Workload',
      namespace: 'shop',
      name: 'client',
    });
    await wait;
    assert.deepEqual(seen.at(-1), ['http://127.1.1.2:4191/metrics']);
    await targets.stop();
    await store.close();
  });
});

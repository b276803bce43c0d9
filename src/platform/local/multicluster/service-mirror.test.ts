import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { openLocalStore } from '../store/index.ts';
import { startLocalServiceMirror } from './service-mirror.ts';

describe('the service mirror in a local control plane', () => {
  it('serves its metrics and readiness on the admin address', async () => {
    const store = await openLocalStore();
    const mirror = await startLocalServiceMirror({
      store,
      admin: { host: '127.0.0.1', port: 0 },
      log: () => {},
    });
    try {
      const base = `http://127.0.0.1:${mirror.adminPort}`;
      const metrics = await fetch(`${base}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /# TYPE gateway_alive gauge/);
      assert.equal((await fetch(`${base}/ready`)).status, 200);
      assert.equal((await fetch(`${base}/shutdown`, { method: 'POST' })).status, 404);
    } finally {
      await mirror.close();
      await store.close();
    }
  });

  it('refuses to start on a taken port, naming the address and the setting', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    const store = await openLocalStore();
    try {
      await assert.rejects(
        startLocalServiceMirror({ store, admin: { host: '127.0.0.1', port }, log: () => {} }),
        (error: Error & { code?: string; hint?: string }) =>
          error.code === 'E_MIRROR_ADMIN' &&
          error.message.includes(`127.0.0.1:${port}`) &&
          /ports\.mirrorAdmin/.test(error.hint ?? ''),
      );
    } finally {
      holder.close();
      await store.close();
    }
  });
});

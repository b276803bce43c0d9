import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, meshedEndpoint, proxyWith, testMesh, viaProxy } from './helpers.ts';

describe('HTTP/1.1 requests that reached no server', () => {
  const mesh = testMesh();
  const appId = mesh.identity('app', 'shop');
  const bodies: string[] = [];
  let app: http.Server;
  let server: RunningProxy;
  let client: RunningProxy;
  let authority: string;

  before(async () => {
    app = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(`${req.method} ${Buffer.concat(chunks)}`);
        res.end('stored');
      });
    });
    const appPort = await listen(app);
    authority = `app.shop.svc.cluster.local:${appPort}`;
    server = await proxyWith({}, { credentials: mesh.credentials('app', 'shop') });
    // A second endpoint whose proxy is gone: connections to it are refused.
    const gone = http.createServer();
    const gonePort = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    const live = meshedEndpoint(server, appPort, appId);
    const dead = { ...live, port: gonePort, opaqueTransportPort: gonePort };
    client = await proxyWith(
      { endpoints: { [authority]: [dead, live] }, retries: { limit: 1 } },
      { credentials: mesh.credentials('web', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await server.close();
    app.close();
  });

  it('are sent again elsewhere whatever their method, each reaching the application once', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await viaProxy(client.ports.outbound, `http://${authority}/orders`, {
        method: 'POST',
        body: i % 2 === 0 ? `order ${i}` : [Buffer.from(`order `), Buffer.from(`${i}`)],
      });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.body, 'stored');
    }
    assert.deepEqual(
      bodies,
      [0, 1, 2, 3, 4, 5].map((i) => `POST order ${i}`),
    );
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, meshedEndpoint, metricValue, proxyWith, scrape, testMesh, viaProxy } from './helpers.ts';

describe('HTTP/1.1 carried over one multiplexed HTTP/2 connection between proxies (http1OverH2)', () => {
  const mesh = testMesh();
  let app: http.Server;
  let server: RunningProxy;
  let client: RunningProxy;
  let authority: string;
  const versions: string[] = [];
  const inboundConnections = new Set<net.Socket>();

  before(async () => {
    app = http.createServer((req, res) => {
      versions.push(req.httpVersion);
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () =>
        res.end(`${req.method} ${req.url} host=${req.headers.host} body=${Buffer.concat(chunks)}`),
      );
    });
    const appPort = await listen(app);
    authority = `web.shop.svc.cluster.local:${appPort}`;
    server = await proxyWith({}, { credentials: mesh.credentials('web', 'shop') });
    client = await proxyWith(
      {
        http1OverH2: true,
        endpoints: { [authority]: [meshedEndpoint(server, appPort, mesh.identity('web', 'shop'))] },
      },
      { credentials: mesh.credentials('frontend', 'shop') },
    );
    app.on('connection', (s) => inboundConnections.add(s));
  });

  after(async () => {
    await client.close();
    await server.close();
    app.close();
    app.closeAllConnections();
  });

  it('delivers concurrent requests as HTTP/1.1 to the application over one proxy-to-proxy connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        viaProxy(client.ports.outbound, `http://${authority}/r${i}`, {
          method: 'POST',
          body: [Buffer.from(`b${i}`)],
        }),
      ),
    );
    results.forEach((res, i) => {
      assert.equal(res.status, 200);
      assert.equal(res.body, `POST /r${i} host=${authority} body=b${i}`);
    });
    assert.ok(versions.every((v) => v === '1.1'));
    const metrics = await scrape(client.ports.admin);
    assert.equal(metricValue(metrics, 'tcp_open_total', 'direction="outbound"', 'peer="dst"'), 1);
  });
});

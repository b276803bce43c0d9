import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import type { TapRecord } from '../../../src/proxy/tap/hub.ts';
import { listen, meshedEndpoint, metricValue, proxyWith, scrape, testMesh, viaProxy } from './helpers.ts';

describe('inbound requests: per-request policy refusals, metrics and tap', () => {
  const mesh = testMesh();
  const appId = mesh.identity('app', 'shop');
  const webId = mesh.identity('web', 'shop');
  let app: http.Server;
  let grpcApp: http2.Http2Server;
  let server: RunningProxy;
  let allowed: RunningProxy;
  let refused: RunningProxy;
  let authority: string;
  let grpcAuthority: string;

  before(async () => {
    app = http.createServer((_req, res) => res.end('hello'));
    const appPort = await listen(app);
    grpcApp = http2.createServer((_req, res) => res.end());
    const grpcPort = await listen(grpcApp as unknown as import('node:net').Server);
    authority = `app.shop.svc.cluster.local:${appPort}`;
    grpcAuthority = `grpc.shop.svc.cluster.local:${grpcPort}`;
    const onlyWeb = { authorizations: [{ authentication: { identities: [webId] } }] };
    server = await proxyWith(
      { policy: { [appPort]: onlyWeb, [grpcPort]: onlyWeb } },
      { credentials: mesh.credentials('app', 'shop') },
    );
    const endpoints = {
      [authority]: [meshedEndpoint(server, appPort, appId)],
      [grpcAuthority]: [meshedEndpoint(server, grpcPort, appId)],
    };
    allowed = await proxyWith(
      { endpoints, http1OverH2: true },
      { credentials: mesh.credentials('web', 'shop') },
    );
    refused = await proxyWith({ endpoints }, { credentials: mesh.credentials('intruder', 'shop') });
  });

  after(async () => {
    await allowed.close();
    await refused.close();
    await server.close();
    app.close();
    grpcApp.close();
  });

  it('answers each HTTP/1.1 request of a refused client with 403, on the same connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      const res = await viaProxy(refused.ports.outbound, `http://${authority}/secret`, { agent });
      assert.equal(res.status, 403);
      assert.match(res.headers['l5d-proxy-error'] as string, /refuses intruder\.shop/);
    }
    agent.destroy();
    const text = await scrape(server.ports.admin);
    const intruder = `client_id="${mesh.identity('intruder', 'shop')}"`;
    assert.equal(
      metricValue(text, 'response_total', 'direction="inbound"', intruder, 'status_code="403"'),
      3,
    );
  });

  it('answers a refused gRPC call with PERMISSION_DENIED', async () => {
    const session = http2.connect(`http://127.0.0.1:${refused.ports.outbound}`);
    session.on('error', () => {});
    const call = session.request({
      ':method': 'POST',
      ':path': '/shop.Orders/List',
      ':authority': grpcAuthority,
      'content-type': 'application/grpc',
    });
    call.end();
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => call.once('response', resolve));
    call.resume();
    session.close();
    assert.equal(headers['grpc-status'], '7');
    assert.match(String(headers['grpc-message']), /refuses intruder\.shop/);
  });

  it('counts and taps admitted requests one by one, with client_id and tls', async () => {
    const seen: TapRecord[] = [];
    const stop = server.tap.observe({}, (record) => seen.push(record));
    for (let i = 0; i < 4; i++) {
      const res = await viaProxy(allowed.ports.outbound, `http://${authority}/ok/${i}`);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'hello');
    }
    stop();
    const text = await scrape(server.ports.admin);
    const labels = ['direction="inbound"', `client_id="${webId}"`, 'tls="true"'];
    assert.equal(metricValue(text, 'request_total', ...labels), 4);
    assert.equal(metricValue(text, 'response_total', ...labels, 'status_code="200"'), 4);
    assert.deepEqual(
      seen.filter((r) => r.direction === 'inbound').map((r) => [r.path, r.status, r.clientId]),
      [0, 1, 2, 3].map((i) => [`/ok/${i}`, 200, webId]),
    );
  });
});

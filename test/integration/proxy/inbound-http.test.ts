import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import type { TapRecord } from '../../../src/proxy/tap/hub.ts';
import { listen, meshedEndpoint, metricValue, proxyWith, scrape, testMesh, viaProxy } from './helpers.ts';
import { type MeshedPair, meshedPair } from './meshed-pair.ts';

/** One HTTP/2 request through `port`; resolves with the response headers, body and trailers. */
function h2Request(
  port: number,
  headers: http2.OutgoingHttpHeaders,
): Promise<{ headers: http2.IncomingHttpHeaders; body: string; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request(headers);
    let response: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let body = '';
    stream.on('response', (h) => (response = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => (body += chunk));
    stream.on('close', () => {
      session.close();
      resolve({ headers: response, body, trailers });
    });
    stream.on('error', reject);
    stream.end('ping');
  });
}

describe('meshed inbound HTTP served request by request', () => {
  const mesh = testMesh();
  const appId = mesh.identity('app', 'shop');
  const webId = mesh.identity('web', 'shop');
  let h1App: http.Server;
  let h2App: http2.Http2Server;
  let server: RunningProxy;
  let client: RunningProxy;
  let h1Authority: string;
  let h2Authority: string;
  let h1Port: number;

  before(async () => {
    // Both applications answer with the caller identity headers they were given.
    h1App = http.createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        res.end(
          JSON.stringify({
            strait: req.headers['strait-client-id'] ?? null,
            l5d: req.headers['l5d-client-id'] ?? null,
          }),
        ),
      );
    });
    h1Port = await listen(h1App);
    h2App = http2.createServer();
    h2App.on('stream', (stream, headers) => {
      stream.resume();
      stream.on('end', () => {
        const grpc = headers['content-type'] === 'application/grpc';
        stream.respond(
          { ':status': 200, 'content-type': String(headers['content-type']) },
          { waitForTrailers: true },
        );
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': grpc ? '5' : '0' }));
        stream.end(String(headers['strait-client-id'] ?? ''));
      });
    });
    const h2Port = await listen(h2App as unknown as net.Server);
    h1Authority = `app.shop.svc.cluster.local:${h1Port}`;
    h2Authority = `h2.shop.svc.cluster.local:${h2Port}`;
    // Plaintext clients name no port: they reach the HTTP/1.1 application.
    server = await proxyWith(
      { inbound: { host: '127.0.0.1', port: 0, appPort: h1Port } },
      { credentials: mesh.credentials('app', 'shop') },
    );
    client = await proxyWith(
      {
        endpoints: {
          [h1Authority]: [meshedEndpoint(server, h1Port, appId)],
          [h2Authority]: [meshedEndpoint(server, h2Port, appId)],
        },
      },
      { credentials: mesh.credentials('web', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await server.close();
    h1App.close();
    h2App.close();
  });

  it("tells an HTTP/1.1 application the verified caller, replacing the caller's own claims", async () => {
    const res = await viaProxy(client.ports.outbound, `http://${h1Authority}/who`, {
      headers: {
        'strait-client-id': 'admin.strait.serviceaccount.identity.strait.cluster.local',
        'l5d-client-id': 'x',
      },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { strait: webId, l5d: null });
  });

  it('strips a claimed identity from an unmeshed plaintext client', async () => {
    const res = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: server.ports.inbound,
        path: '/who',
        headers: { host: h1Authority, 'strait-client-id': webId },
      });
      req.on('response', (response) => {
        let body = '';
        response.on('data', (c) => (body += c));
        response.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(JSON.parse(res), { strait: null, l5d: null });
  });

  it('counts and taps each request of a kept-alive connection, labelled with caller and authority', async () => {
    const seen: TapRecord[] = [];
    const stop = server.tap.observe({}, (record) => seen.push(record));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = await scrape(server.ports.admin);
    const labels = [
      'direction="inbound"',
      `client_id="${webId}"`,
      'tls="true"',
      `authority="${h1Authority}"`,
    ];
    const count = (text: string, name: string, ...more: string[]) =>
      metricValue(text, name, ...labels, ...more);
    for (let i = 0; i < 5; i++) {
      const res = await viaProxy(client.ports.outbound, `http://${h1Authority}/n/${i}`, { agent });
      assert.equal(res.status, 200);
    }
    agent.destroy();
    stop();
    const after = await scrape(server.ports.admin);
    assert.equal(count(after, 'request_total') - count(before, 'request_total'), 5);
    assert.equal(
      count(after, 'response_total', 'status_code="200"', 'classification="success"') -
        count(before, 'response_total', 'status_code="200"', 'classification="success"'),
      5,
    );
    assert.equal(count(after, 'response_latency_ms_count') - count(before, 'response_latency_ms_count'), 5);
    assert.deepEqual(
      seen.filter((r) => r.direction === 'inbound').map((r) => [r.path, r.status, r.clientId, r.authority]),
      [0, 1, 2, 3, 4].map((i) => [`/n/${i}`, 200, webId, h1Authority]),
    );
  });

  it('forwards HTTP/2 and gRPC streams one by one, classifying gRPC by grpc-status', async () => {
    const plain = await h2Request(client.ports.outbound, {
      ':method': 'POST',
      ':path': '/plain',
      ':authority': h2Authority,
      'content-type': 'text/plain',
      'strait-client-id': 'forged',
    });
    assert.equal(plain.headers[':status'], 200);
    assert.equal(plain.body, webId);
    assert.equal(plain.trailers['grpc-status'], '0');
    const grpc = await h2Request(client.ports.outbound, {
      ':method': 'POST',
      ':path': '/shop.Orders/Find',
      ':authority': h2Authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    assert.equal(grpc.trailers['grpc-status'], '5');
    assert.equal(grpc.body, webId);
    const text = await scrape(server.ports.admin);
    const labels = ['direction="inbound"', `client_id="${webId}"`, `authority="${h2Authority}"`];
    assert.equal(metricValue(text, 'request_total', ...labels), 2);
    assert.equal(metricValue(text, 'response_total', ...labels, 'classification="success"'), 1);
    assert.equal(metricValue(text, 'response_total', ...labels, 'classification="failure"'), 1);
  });
});

describe('meshed inbound HTTP with per-request handling switched off', () => {
  const mesh = testMesh();
  let pair: MeshedPair;

  before(async () => {
    pair = await meshedPair(
      mesh,
      http.createServer((req, res) => res.end(String(req.headers['strait-client-id'] ?? 'none'))),
      {
        service: 'app',
        caller: 'web',
        server: { inbound: { host: '127.0.0.1', port: 0, perRequest: false } },
      },
    );
  });

  after(() => pair.close());

  it('relays the connection as bytes: counted per connection only, no caller header added', async () => {
    const res = await viaProxy(pair.client.ports.outbound, `http://${pair.authority}/`);
    assert.equal(res.body, 'none');
    const text = await scrape(pair.server.ports.admin);
    assert.equal(metricValue(text, 'request_total', 'direction="inbound"'), 0);
    assert.ok(metricValue(text, 'tcp_open_total', 'direction="inbound"') >= 1);
  });
});

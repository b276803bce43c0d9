import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { TapService } from '../../../src/gen/strait/tap/v1/tap_pb.js';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { TapHub } from '../../../src/proxy/tap/hub.ts';
import { createTapServer } from '../../../src/proxy/tap/server.ts';
import { listen, meshedEndpoint, metricValue, proxyWith, scrape, testMesh, waitFor } from './helpers.ts';

describe('HTTP/2 and gRPC through two proxies over mTLS', () => {
  const mesh = testMesh();
  const apiId = mesh.identity('api', 'shop');
  let app: http2.Http2Server;
  let appPort: number;
  let grpcApp: ReturnType<typeof createTapServer>;
  let grpcPort: number;
  const grpcHub = new TapHub();
  let server: RunningProxy;
  let client: RunningProxy;
  let authority: string;
  const cancelled: number[] = [];

  before(async () => {
    app = http2.createServer();
    app.on('stream', (stream, headers) => {
      const path = headers[':path'];
      if (path === '/echo.Echo/Stream') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('data', (chunk) => stream.write(chunk));
        stream.on('end', () => stream.end());
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-count': 'done' }));
      } else if (path === '/echo.Echo/Missing') {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '5',
            'grpc-message': 'no such thing',
          },
          { endStream: true },
        );
      } else if (path === '/echo.Echo/Hang') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write('started');
        stream.on('close', () => cancelled.push(stream.rstCode));
      } else if (path === '/echo.Echo/Deadline') {
        const timeout = String(headers['grpc-timeout'] ?? '');
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '4',
            'grpc-message': `deadline ${timeout}`,
          },
          { endStream: true },
        );
      } else {
        stream.respond({ ':status': 404 });
        stream.end();
      }
    });
    appPort = await listen(app as unknown as import('node:net').Server);
    grpcApp = createTapServer(grpcHub);
    grpcPort = await listen(grpcApp as unknown as import('node:net').Server);
    authority = `api.shop.svc.cluster.local:${appPort}`;
    const grpcAuthority = `grpc.shop.svc.cluster.local:${grpcPort}`;
    server = await proxyWith({}, { credentials: mesh.credentials('api', 'shop') });
    client = await proxyWith(
      {
        endpoints: {
          [authority]: [meshedEndpoint(server, appPort, apiId)],
          [grpcAuthority]: [meshedEndpoint(server, grpcPort, apiId)],
        },
        outbound: { host: '127.0.0.1', port: 0, listeners: [{ port: 0, target: grpcAuthority }] },
      },
      { credentials: mesh.credentials('web', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await server.close();
    app.close();
    grpcApp.close();
  });

  function session(): http2.ClientHttp2Session {
    const s = http2.connect(`http://127.0.0.1:${client.ports.outbound}`);
    s.on('error', () => {});
    return s;
  }

  it('streams both ways and passes trailers', async () => {
    const s = session();
    const req = s.request({
      ':method': 'POST',
      ':path': '/echo.Echo/Stream',
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const received: string[] = [];
    req.on('data', (d) => received.push(d.toString()));
    req.write('first');
    await waitFor(() => received.join('').includes('first'));
    req.write('second');
    await waitFor(() => received.join('').includes('second'));
    req.end();
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => req.once('trailers', resolve));
    assert.equal(trailers['grpc-status'], '0');
    assert.equal(trailers['x-count'], 'done');
    s.close();
  });

  it('passes a trailers-only gRPC error', async () => {
    const s = session();
    const req = s.request({
      ':method': 'POST',
      ':path': '/echo.Echo/Missing',
      ':authority': authority,
      'content-type': 'application/grpc',
    });
    req.end();
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => req.once('response', resolve));
    assert.equal(headers['grpc-status'], '5');
    assert.equal(headers['grpc-message'], 'no such thing');
    req.resume();
    await new Promise((resolve) => req.once('close', resolve));
    s.close();
    const metrics = await scrape(client.ports.admin);
    assert.ok(metricValue(metrics, 'response_total', 'classification="failure"', 'status_code="200"') >= 1);
  });

  it('carries the deadline to the server', async () => {
    const s = session();
    const req = s.request({
      ':method': 'POST',
      ':path': '/echo.Echo/Deadline',
      ':authority': authority,
      'content-type': 'application/grpc',
      'grpc-timeout': '250m',
    });
    req.end();
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => req.once('response', resolve));
    assert.equal(headers['grpc-status'], '4');
    assert.equal(headers['grpc-message'], 'deadline 250m');
    req.resume();
    s.close();
  });

  it('propagates a client cancellation to the server as a stream reset', async () => {
    const s = session();
    const req = s.request({
      ':method': 'POST',
      ':path': '/echo.Echo/Hang',
      ':authority': authority,
      'content-type': 'application/grpc',
    });
    await new Promise((resolve) => req.once('data', resolve));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => cancelled.length > 0);
    assert.equal(cancelled[0], http2.constants.NGHTTP2_CANCEL);
    s.close();
  });

  it('serves a real gRPC server-streaming call through an explicit service listener', async () => {
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${client.ports.listeners[0]}` });
    const tapClient = createClient(TapService, transport);
    const abort = new AbortController();
    const events: string[] = [];
    const done = (async () => {
      for await (const event of tapClient.observe({ limit: 2 }, { signal: abort.signal }))
        events.push(event.path);
    })();
    await waitFor(() => grpcHub.active);
    for (const path of ['/a', '/b']) {
      grpcHub.publish({
        direction: 'inbound',
        method: 'GET',
        authority: 'x',
        path,
        status: 200,
        latencyMs: 1,
        clientId: '',
        serverId: '',
        source: '',
        destination: '',
        startedAtMs: Date.now(),
        error: '',
      });
    }
    await done;
    assert.deepEqual(events, ['/a', '/b']);
  });
});

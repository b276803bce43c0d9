import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import {
  listen,
  memoryLog,
  meshedEndpoint,
  metricValue,
  proxyWith,
  scrape,
  testMesh,
  viaProxy,
  waitFor,
} from './helpers.ts';

describe('HTTP/1.1 through two proxies over mTLS', () => {
  const mesh = testMesh();
  const webId = mesh.identity('web', 'shop');
  let app: http.Server;
  let appPort: number;
  let server: RunningProxy;
  let client: RunningProxy;
  const serverLog = memoryLog();
  const appSockets = new Set<net.Socket>();
  let authority: string;

  before(async () => {
    app = http.createServer((req, res) => {
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('one,');
        setTimeout(() => {
          res.write('two');
          res.addTrailers({ 'x-checksum': 'abc' });
          res.end();
        }, 20);
        return;
      }
      if (req.url?.startsWith('/large')) {
        // 4 MiB in 64 KiB writes, each filled with its own byte, as one body or chunked.
        const chunked = req.url.endsWith('chunked');
        res.writeHead(200, chunked ? {} : { 'content-length': String(LARGE_BODY_BYTES) });
        let written = 0;
        const pump = () => {
          while (written < LARGE_BODY_BYTES) {
            const piece = largeBodyPiece(written);
            written += piece.length;
            if (!res.write(piece)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.stringify({
          method: req.method,
          url: req.url,
          host: req.headers.host,
          te: req.headers['transfer-encoding'] ?? null,
          body: Buffer.concat(chunks).toString(),
          from: req.socket.remoteAddress,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
    });
    app.on('connection', (s) => appSockets.add(s));
    app.on('upgrade', (req, socket) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`,
      );
      socket.on('data', (d) => socket.write(`echo:${d}`));
    });
    appPort = await listen(app);
    authority = `web.shop.svc.cluster.local:${appPort}`;
    server = await proxyWith({}, { credentials: mesh.credentials('web', 'shop'), log: serverLog });
    client = await proxyWith(
      { endpoints: { [authority]: [meshedEndpoint(server, appPort, webId)] } },
      { credentials: mesh.credentials('frontend', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await server.close();
    app.close();
    app.closeAllConnections();
  });

  it('forwards a request to the application through mTLS and both proxies', async () => {
    const res = await viaProxy(client.ports.outbound, `http://${authority}/hello?x=1`);
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/hello?x=1');
    assert.equal(seen.host, authority);
    const metrics = await scrape(client.ports.admin);
    assert.ok(
      metricValue(metrics, 'request_total', 'direction="outbound"', 'tls="true"', `server_id="${webId}"`) >=
        1,
    );
    assert.ok(
      metricValue(
        metrics,
        'response_total',
        'status_code="200"',
        'classification="success"',
        'dst_namespace="shop"',
      ) >= 1,
    );
    const serverMetrics = await scrape(server.ports.admin);
    assert.ok(
      metricValue(
        serverMetrics,
        'tcp_open_total',
        'direction="inbound"',
        'tls="true"',
        `client_id="${mesh.identity('frontend', 'shop')}"`,
      ) >= 1,
    );
  });

  it('streams chunked request and response bodies and passes trailers', async () => {
    const res = await viaProxy(client.ports.outbound, `http://${authority}/upload`, {
      method: 'POST',
      body: [Buffer.from('part-1,'), Buffer.from('part-2')],
    });
    const seen = JSON.parse(res.body);
    assert.equal(seen.body, 'part-1,part-2');
    assert.equal(seen.te, 'chunked');
    const chunked = await viaProxy(client.ports.outbound, `http://${authority}/chunked`);
    assert.equal(chunked.body, 'one,two');
    assert.equal(chunked.headers['transfer-encoding'], 'chunked');
    assert.equal(chunked.trailers['x-checksum'], 'abc');
  });

  it('passes large bodies intact to a client that reads slowly', { timeout: 60_000 }, async () => {
    for (const path of ['/large', '/large?chunked']) {
      const body = await new Promise<Buffer>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: client.ports.outbound,
          path: `http://${authority}${path}`,
          agent: false,
        });
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          // Reading waits a while, so both proxies hold back bytes they have read.
          res.pause();
          setTimeout(() => res.resume(), 300);
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(body.length, LARGE_BODY_BYTES, path);
      for (let at = 0; at < LARGE_BODY_BYTES; at += LARGE_PIECE_BYTES) {
        assert.ok(
          body.subarray(at, at + LARGE_PIECE_BYTES).equals(largeBodyPiece(at)),
          `${path}: bytes at ${at}`,
        );
      }
    }
  });

  it('reuses proxy-to-proxy connections across requests (keep-alive pooling)', async () => {
    const before = appSockets.size;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 10; i++) {
      const res = await viaProxy(client.ports.outbound, `http://${authority}/n${i}`, { agent });
      assert.equal(res.status, 200);
    }
    agent.destroy();
    assert.ok(
      appSockets.size - before <= 1,
      `expected at most one new app connection, got ${appSockets.size - before}`,
    );
  });

  it('relays an upgrade (WebSocket-style) as a byte stream', async () => {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: client.ports.outbound,
        path: `http://${authority}/ws`,
        headers: { connection: 'Upgrade', upgrade: 'websocket' },
      });
      req.on('upgrade', (res, s) => {
        assert.equal(res.statusCode, 101);
        resolve(s);
      });
      req.on('error', reject);
      req.end();
    });
    socket.write('ping');
    const reply = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
    assert.equal(reply, 'echo:ping');
    socket.destroy();
  });

  it('answers 502 naming the identity when an endpoint presents the wrong one', async () => {
    // A server from the same trust domain that answers for any name with another identity.
    const impostorMaterial = mesh.material('impostor', 'shop');
    const impostor = tls.createServer({
      cert: impostorMaterial.certChain,
      key: impostorMaterial.key,
      ALPNProtocols: ['transport.strait.io/v1'],
    });
    impostor.on('secureConnection', (s) => s.destroy());
    const impostorPort = await listen(impostor);
    const wrong = `wrong.shop.svc.cluster.local:${appPort}`;
    client.staticResolver?.set(wrong, [
      {
        address: '127.0.0.1',
        port: appPort,
        tlsIdentity: webId,
        opaqueTransportPort: impostorPort,
        weight: 1,
        labels: {},
      },
    ]);
    const res = await viaProxy(client.ports.outbound, `http://${wrong}/`);
    assert.equal(res.status, 502);
    assert.match(
      String(res.headers['l5d-proxy-error']),
      /presented identity impostor\.shop.* expected web\.shop.*E_PEER_IDENTITY/,
    );
    impostor.close();
  });

  it('refuses a client whose certificate chains to another anchor, and keeps serving', async () => {
    const other = testMesh().material('frontend', 'shop');
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.ports.inbound,
      servername: webId,
      cert: other.certChain,
      key: other.key,
      ca: mesh.anchorPem,
      ALPNProtocols: ['transport.strait.io/v1'],
    });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('close', resolve));
    await waitFor(() => serverLog.lines.some((l) => l.includes('E_TLS_CLIENT_CERT')));
    const res = await viaProxy(client.ports.outbound, `http://${authority}/after-bad-client`);
    assert.equal(res.status, 200);
  });

  it('closes a connection that sends a garbage transport header, and logs why', async () => {
    const material = mesh.material('frontend', 'shop');
    const socket = tls.connect({
      host: '127.0.0.1',
      port: server.ports.inbound,
      servername: webId,
      cert: material.certChain,
      key: material.key,
      ca: mesh.anchorPem,
      ALPNProtocols: ['transport.strait.io/v1'],
    });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write('transport.strait.io/v1\r\n\r\n\xff\xff\xff\xffgarbage');
    await new Promise((resolve) => socket.once('close', resolve));
    await waitFor(() => serverLog.lines.some((l) => l.includes('E_TRANSPORT_HEADER')));
    const res = await viaProxy(client.ports.outbound, `http://${authority}/after-garbage`);
    assert.equal(res.status, 200);
  });

  it('answers 503 for a target with no endpoints', async () => {
    const empty = `empty.shop.svc.cluster.local:${appPort}`;
    client.staticResolver?.set(empty, []);
    const res = await viaProxy(client.ports.outbound, `http://${empty}/`);
    assert.equal(res.status, 503);
    assert.match(res.body, /has no endpoints/);
  });

  it('answers 400 to malformed HTTP and keeps serving others', async () => {
    const { connect } = await import('node:net');
    const raw = connect(client.ports.outbound, '127.0.0.1');
    raw.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      raw.on('data', (d) => (text += d));
      raw.on('close', () => resolve(text));
    });
    assert.match(answer, /^HTTP\/1\.1 400/);
    const res = await viaProxy(client.ports.outbound, `http://${authority}/still-ok`);
    assert.equal(res.status, 200);
  });
});

const LARGE_BODY_BYTES = 4 * 1024 * 1024;
const LARGE_PIECE_BYTES = 64 * 1024;
/** The piece of a large body that starts at `offset`: every byte is the piece's number. */
function largeBodyPiece(offset: number): Buffer {
  return Buffer.alloc(LARGE_PIECE_BYTES, (offset / LARGE_PIECE_BYTES) % 256);
}

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_HEAD_LIMITS } from '../http1/head.ts';
import { createLogger } from '../log.ts';
import { inboundLabels, ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TapHub, type TapRecord } from '../tap/hub.ts';
import type { InboundCaller } from './client-id.ts';
import { Http1InboundConnection } from './http1-connection.ts';
import { InboundRecorder } from './record.ts';

/** A listener that hands each connection to Http1InboundConnection, forwarding to `appPort`. */
async function inbound(appPort: number, clientId = 'web.shop') {
  const lines: string[] = [];
  const metrics = new ProxyMetrics();
  const tap = new TapHub();
  const taps: TapRecord[] = [];
  tap.observe({}, (record) => taps.push(record));
  const connections: Http1InboundConnection[] = [];
  const context = {
    appHost: '127.0.0.1',
    log: createLogger('debug', (line) => lines.push(line)),
    recorder: new InboundRecorder({ appHost: '127.0.0.1', metrics, tap }),
    connectTimeoutMs: 1000,
    idleTimeoutMs: 0,
    limits: DEFAULT_HEAD_LIMITS,
    released: () => {},
  };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const caller: InboundCaller = {
      port: appPort,
      labels: inboundLabels(clientId, true),
      clientId,
      serverId: 'app.shop',
      source: '127.0.0.1',
    };
    connections.push(new Http1InboundConnection(socket, caller, context));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { server, port, lines, metrics, taps, connections };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Everything `socket` reads until it closes. */
function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Reads from `socket` until the text read matches `pattern`; fails if it closes first. */
function readUntil(socket: net.Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onClose = () => reject(new Error(`closed before ${pattern}; read ${JSON.stringify(text)}`));
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (pattern.test(text)) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

describe('Http1InboundConnection', () => {
  const big = Buffer.alloc(8 * 1024 * 1024, 'abcdefgh');
  let app: http.Server;
  let raw: net.Server;
  let rawReply: (socket: net.Socket) => void = () => {};
  let target: Awaited<ReturnType<typeof inbound>>;
  let rawTarget: Awaited<ReturnType<typeof inbound>>;

  before(async () => {
    app = http.createServer((req, res) => {
      if (req.url === '/big') {
        res.end(big);
        return;
      }
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.length));
      req.on('end', () =>
        res.end(`${req.url} ${size} ${req.headers['strait-client-id']} ${req.headers['x-evil'] ?? ''}`),
      );
    });
    app.on('upgrade', (_req, socket, head) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      if (head.length > 0) socket.write(`echo:${head}`);
      socket.on('data', (data) => socket.write(`echo:${data}`));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    raw = net.createServer((socket) => {
      socket.once('data', () => rawReply(socket));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    target = await inbound((app.address() as net.AddressInfo).port);
    rawTarget = await inbound((raw.address() as net.AddressInfo).port);
  });

  after(() => {
    app.closeAllConnections();
    app.close();
    raw.close();
    target.server.close();
    rawTarget.server.close();
  });

  it('answers 408 to a head still incomplete after the head timeout, however it trickles in', async () => {
    const count = target.connections.length;
    const socket = await connect(target.port);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.write('GET /slow HTTP/1.1\r\nHost: a\r\n');
    await waitUntil(() => target.connections.length > count);
    const connection = target.connections[count] as Http1InboundConnection;
    let tick = 0;
    while (answer === '' && tick < 200) {
      connection.sweep(++tick, 2, 0);
      socket.write('X-Still: typing\r\n');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(target.lines.some((line) => line.includes('request head incomplete after 2 s')));
    socket.destroy();
  });

  it('closes a connection idle for the idle timeout, but not one that just served a request', async () => {
    const count = target.connections.length;
    const socket = await connect(target.port);
    const closed = readAll(socket);
    const connection = () => target.connections[count] as Http1InboundConnection;
    socket.write('GET /one HTTP/1.1\r\nHost: a\r\n\r\n');
    await readUntil(socket, /\/one 0/);
    connection().sweep(10, 10, 2);
    connection().sweep(11, 10, 2);
    socket.write('GET /two HTTP/1.1\r\nHost: a\r\n\r\n');
    await readUntil(socket, /\/two 0/);
    connection().sweep(12, 10, 2);
    connection().sweep(13, 10, 2);
    connection().sweep(14, 10, 2);
    await closed;
  });

  it('relays request and response bodies larger than any buffer, intact', async () => {
    const socket = await connect(target.port);
    const answer = readAll(socket);
    socket.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n`);
    socket.write(big);
    socket.write('GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const text = await answer;
    assert.match(text.toString('latin1', 0, 200), new RegExp(`/upload ${big.length} web.shop`));
    const bodyStart = text.lastIndexOf('\r\n\r\n') + 4;
    assert.equal(text.length - bodyStart, big.length);
    assert.ok(text.subarray(bodyStart).equals(big));
  });

  it('turns into a byte relay on 101, passing on bytes the client sent early', async () => {
    const socket = await connect(target.port);
    socket.write('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly');
    const text = await readUntil(socket, /echo:early/);
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    socket.write('late');
    await readUntil(socket, /echo:late/);
    socket.destroy();
    const record = target.taps.find((r) => r.path === '/ws');
    assert.equal(record?.status, 101);
  });

  it('passes on a response that arrives one byte at a time, and records its status', async () => {
    const response = 'HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello';
    rawReply = (socket) => {
      let i = 0;
      const next = () => {
        if (i < response.length) {
          socket.write(response[i++] as string);
          setImmediate(next);
        }
      };
      next();
    };
    const socket = await connect(rawTarget.port);
    socket.write('GET /slowly HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(await readUntil(socket, /hello$/), response);
    socket.destroy();
    assert.equal(rawTarget.taps.find((r) => r.path === '/slowly')?.status, 201);
  });

  it('answers 502 naming the fault when the application sends a malformed response', async () => {
    rawReply = (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx');
    const socket = await connect(rawTarget.port);
    const answer = readAll(socket);
    socket.write('GET /bad HTTP/1.1\r\nHost: a\r\n\r\n');
    const text = (await answer).toString();
    assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.match(
      text,
      /l5d-proxy-error: malformed response from the application: conflicting Content-Length/,
    );
    const record = rawTarget.taps.find((r) => r.path === '/bad');
    assert.equal(record?.status, 502);
    assert.match(record?.error ?? '', /conflicting Content-Length/);
  });

  it('sends a bodiless GET again when the application closes a reused connection unanswered, but not a POST', async () => {
    let opened = 0;
    const flaky = net.createServer((socket) => {
      const connection = ++opened;
      let requests = 0;
      socket.on('data', (data) => {
        // The client sends one request at a time, so each read is one request.
        const method = data.toString('latin1').split(' ')[0];
        requests++;
        if ((connection === 1 && requests === 2) || method === 'POST') {
          socket.destroy();
          return;
        }
        const body = `connection ${connection} request ${requests}`;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const proxy = await inbound((flaky.address() as net.AddressInfo).port);
    const socket = await connect(proxy.port);
    socket.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
    await readUntil(socket, /connection 1 request 1$/);
    socket.write('GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
    await readUntil(socket, /connection 2 request 1$/);
    const answer = readAll(socket);
    socket.write('POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n');
    assert.match((await answer).toString(), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.equal(opened, 2);
    proxy.server.close();
    flaky.close();
  });

  it('sends no identity that could not be a header value', async () => {
    const forged = await inbound((app.address() as net.AddressInfo).port, 'gw.shop\r\nx-evil: 1');
    const socket = await connect(forged.port);
    const answer = readAll(socket);
    socket.write('GET /who HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.match((await answer).toString(), /\r\n\r\n\/who 0 undefined $/);
    assert.ok(forged.lines.some((line) => line.includes('not a valid header value')));
    forged.server.close();
  });

  it('answers 502 when the application cannot be reached', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await inbound(port);
    const socket = await connect(unreachable.port);
    const answer = readAll(socket);
    socket.write('GET /nobody HTTP/1.1\r\nHost: a\r\n\r\n');
    const text = (await answer).toString();
    unreachable.server.close();
    assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n[\s\S]*connect to the application/);
    const total = unreachable.metrics.registry.render();
    assert.match(total, /response_total\{[^}]*status_code="502",classification="failure"\} 1/);
  });
});

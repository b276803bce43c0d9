import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, memoryLog, metricValue, proxyWith, scrape, waitFor } from './helpers.ts';

/**
 * Writes `text` to the inbound port in one piece (then half-closes, with
 * `end`) and returns everything read until the proxy closes.
 */
function exchange(port: number, text: string | Buffer, end = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (data) => (answer += data));
    socket.on('end', () => socket.end());
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    if (end) socket.end(text);
    else socket.write(text);
  });
}

/** Reads from `socket` until `answer` matches `pattern`. */
function readUntil(socket: net.Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const onData = (data: Buffer) => {
      answer += data.toString('latin1');
      if (pattern.test(answer)) {
        socket.off('data', onData);
        resolve(answer);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('inbound HTTP/1 relayed request by request without node:http', () => {
  const log = memoryLog();
  let app: http.Server;
  let server: RunningProxy;
  const seen: Array<{ url: string; method: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const appSockets = new Set<net.Socket>();

  before(async () => {
    app = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        seen.push({ url: req.url ?? '', method: req.method ?? '', headers: req.headers, body });
        if (req.url === '/until-close') {
          // No length and no chunking: the body runs until the connection closes.
          req.socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it');
          return;
        }
        if (req.url === '/bye') res.setHeader('connection', 'close');
        if (req.url === '/head-length') res.setHeader('content-length', '42');
        res.end(req.method === 'HEAD' ? undefined : `${req.method} ${req.url} body=${body}`);
      });
    });
    app.on('connection', (socket) => {
      appSockets.add(socket);
      socket.on('close', () => appSockets.delete(socket));
    });
    const appPort = await listen(app);
    server = await proxyWith({ inbound: { host: '127.0.0.1', port: 0, appPort } }, { log });
  });

  after(async () => {
    await server.close();
    app.close();
    app.closeAllConnections();
  });

  it('answers pipelined requests in order, with bodies by length and by chunks', async () => {
    const answer = await exchange(
      server.ports.inbound,
      'POST /one HTTP/1.1\r\nHost: shop\r\nContent-Length: 3\r\n\r\nabc' +
        'POST /two HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1;x=y\r\nf\r\n0\r\nX-T: 1\r\n\r\n' +
        'GET /three HTTP/1.1\r\nHost: shop\r\nstrait-client-id: forged\r\nConnection: close\r\n\r\n',
    );
    const bodies = [...answer.matchAll(/(POST|GET) \/\w+ body=[a-z]*/g)].map((m) => m[0]);
    assert.deepEqual(bodies, ['POST /one body=abc', 'POST /two body=def', 'GET /three body=']);
    const three = seen.find((r) => r.url === '/three');
    assert.equal(three?.headers['strait-client-id'], undefined, 'a plaintext caller gets no identity');
  });

  it('sends HEAD answers without a body and keeps the connection for the next request', async () => {
    const answer = await exchange(
      server.ports.inbound,
      'HEAD /head-length HTTP/1.1\r\nHost: shop\r\n\r\nGET /after HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n',
    );
    assert.match(
      answer,
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*content-length: 42\r\n[\s\S]*\r\n\r\nHTTP\/1\.1 200 OK\r\n/i,
    );
    assert.match(answer, /GET \/after body=$/);
  });

  it('relays a response that runs until the application closes, then closes the client', async () => {
    const answer = await exchange(server.ports.inbound, 'GET /until-close HTTP/1.1\r\nHost: shop\r\n\r\n');
    assert.match(answer, /\r\n\r\nall of it$/);
  });

  it("passes the application's Connection: close on and closes after the response", async () => {
    const answer = await exchange(server.ports.inbound, 'GET /bye HTTP/1.1\r\nHost: shop\r\n\r\n');
    assert.match(answer, /connection: close/i);
    assert.match(answer, /GET \/bye body=$/);
  });

  it('relays 100 Continue before the final answer', async () => {
    const socket = net.connect(server.ports.inbound, '127.0.0.1');
    socket.write('PUT /wait HTTP/1.1\r\nHost: shop\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
    assert.match(await readUntil(socket, /\r\n\r\n/), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    socket.write('ok');
    assert.match(await readUntil(socket, /body=ok$/), /^HTTP\/1\.1 200 OK/);
    socket.destroy();
  });

  it('opens a new application connection when the application closed the idle one', async () => {
    const socket = net.connect(server.ports.inbound, '127.0.0.1');
    socket.write('GET /first HTTP/1.1\r\nHost: shop\r\n\r\n');
    await readUntil(socket, /body=$/);
    for (const appSocket of appSockets) appSocket.destroy();
    await waitFor(() => appSockets.size === 0);
    socket.write('GET /second HTTP/1.1\r\nHost: shop\r\n\r\n');
    assert.match(await readUntil(socket, /GET \/second body=$/), /^HTTP\/1\.1 200 OK/);
    socket.destroy();
  });

  it('answers 400 naming the fault, closes, and counts nothing for malformed requests', async () => {
    const before = await scrape(server.ports.admin);
    const count = seen.length;
    const cases: Array<[string, RegExp]> = [
      [
        'POST /x HTTP/1.1\r\nHost: shop\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        /both Transfer-Encoding and Content-Length/,
      ],
      ['GET /x HTTP/1.1\r\nHost: shop\r\nX-A: 1\r\n folded\r\n\r\n', /obs-fold/],
      ['POST /x HTTP/1.1\r\nHost: shop\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /conflicting/],
      ['GET /x HTTP/1.1\r\nHost: shop\r\nBad Header\r\n\r\n', /malformed header line/],
      [`GET /x HTTP/1.1\r\nHost: shop\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, /larger than 16384 bytes/],
    ];
    for (const [request, reason] of cases) {
      const answer = await exchange(server.ports.inbound, request);
      assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/, request.slice(0, 40));
      assert.match(answer, /connection: close/);
      assert.match(answer, reason);
      assert.ok(
        log.lines.some((line) => line.includes('malformed HTTP/1 request') && reason.test(line)),
        `a log line names ${reason}`,
      );
    }
    assert.equal(seen.length, count, 'the application saw none of them');
    const after = await scrape(server.ports.admin);
    assert.equal(
      metricValue(after, 'request_total', 'direction="inbound"'),
      metricValue(before, 'request_total', 'direction="inbound"'),
    );
  });

  it('answers 400 to a bad chunk size after the head went on, and the application sees a cut request', async () => {
    const answer = await exchange(
      server.ports.inbound,
      'POST /cut HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*chunk size starts with "z"/);
    const text = await scrape(server.ports.admin);
    assert.ok(metricValue(text, 'response_total', 'status_code="400"', 'classification="failure"') >= 1);
    assert.equal(
      seen.some((r) => r.url === '/cut'),
      false,
    );
  });

  it('answers mangled requests with 400 or a normal answer, never anything else, and keeps serving', async () => {
    // A fixed seed keeps a failure reproducible.
    let seed = 0xbad;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const valid = Buffer.from(
      'POST /fuzz HTTP/1.1\r\nHost: shop\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nX-T: 1\r\n\r\n',
    );
    const alphabet = Buffer.from('\r\n :;0123456789aA-\x00\x7f\xff');
    for (let n = 0; n < 60; n++) {
      const request = Buffer.from(valid);
      // Keep the request line, which decides that the bytes are HTTP at all.
      for (let e = 0; e < 3; e++) {
        request[20 + Math.floor(random() * (request.length - 20))] = alphabet[
          Math.floor(random() * alphabet.length)
        ] as number;
      }
      const answer = await exchange(server.ports.inbound, request, true);
      assert.match(
        answer,
        /^(|HTTP\/1\.1 (400 Bad Request|200 OK)\r\n[\s\S]*)$/,
        JSON.stringify(request.toString('latin1')),
      );
    }
    const answer = await exchange(
      server.ports.inbound,
      'GET /after-fuzz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n',
    );
    assert.match(answer, /GET \/after-fuzz body=$/);
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { testMesh } from './helpers.ts';
import { type MeshedPair, meshedPair } from './meshed-pair.ts';

/** A raw connection to the outbound listener and everything it has received so far. */
class Conversation {
  readonly socket: net.Socket;
  text = '';
  closed = false;
  #waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (data: string) => {
      this.text += data;
      this.#wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    this.socket.on('error', () => {});
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** Resolves once `done(text)` holds (or the connection closed, which fails unless `done` then holds). */
  async until(done: (text: string) => boolean): Promise<string> {
    while (!done(this.text)) {
      if (this.closed) assert.fail(`connection closed after ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.text;
  }

  async closedAfter(): Promise<string> {
    while (!this.closed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.text;
  }
}

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

describe('the outbound listener serving the application’s HTTP/1', () => {
  const mesh = testMesh();
  let pair: MeshedPair;
  let client: RunningProxy;
  let authority: string;

  before(async () => {
    const app = http.createServer((req, res) => {
      if (req.url === '/early') {
        // Answers before reading the body.
        res.writeHead(413, { 'content-length': '8' });
        res.end('too big\n');
        return;
      }
      if (req.url === '/unsized') {
        // No Content-Length: chunked to HTTP/1.1 callers.
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
        res.write('part one, ');
        res.addTrailers({ 'x-sum': '42' });
        res.end('part two');
        return;
      }
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const trailer = req.trailers['x-req-sum'] ?? '';
        const text = `${req.method} ${req.url} body=${body} trailer=${trailer}`;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    pair = await meshedPair(mesh, app, { service: 'web', caller: 'frontend' });
    ({ client, authority } = pair);
  });

  after(() => pair.close());

  it('answers pipelined requests in order on one connection', async () => {
    const c = new Conversation(client.ports.outbound);
    c.socket.write(
      `GET /first HTTP/1.1\r\nHost: ${authority}\r\n\r\n` +
        `POST /second HTTP/1.1\r\nHost: ${authority}\r\nContent-Length: 3\r\n\r\nabc` +
        `GET /third HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
    );
    const text = await c.until((t) => t.includes('GET /third'));
    const order = [...text.matchAll(/(GET|POST) \/(\w+) body=(\w*)/g)].map((m) => `${m[2]}:${m[3]}`);
    assert.deepEqual(order, ['first:', 'second:abc', 'third:']);
    assert.equal(count(text, /HTTP\/1\.1 200 /g), 3);
    assert.equal(c.closed, false);
    c.socket.destroy();
  });

  it('streams a chunked request body with its trailers to the application', async () => {
    const c = new Conversation(client.ports.outbound);
    c.socket.write(
      `POST /upload HTTP/1.1\r\nHost: ${authority}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`,
    );
    setTimeout(() => c.socket.write('6\r\n-world\r\n0\r\nx-req-sum: 11\r\n\r\n'), 50);
    const text = await c.until((t) => t.includes('trailer='));
    assert.match(text, /body=hello-world trailer=11/);
    c.socket.destroy();
  });

  it('sends a body of unknown length chunked, with trailers, to an HTTP/1.1 client', async () => {
    const c = new Conversation(client.ports.outbound);
    c.socket.write(`GET /unsized HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    const text = await c.until((t) => t.endsWith('\r\n0\r\nx-sum: 42\r\n\r\n'));
    assert.match(text, /transfer-encoding: chunked\r\n/i);
    assert.match(text, /\r\n\r\na\r\npart one, \r\n8\r\npart two\r\n0\r\n/);
    c.socket.destroy();
  });

  it('ends an unsized body by closing for an HTTP/1.0 client', async () => {
    const c = new Conversation(client.ports.outbound);
    c.socket.write(`GET /unsized HTTP/1.0\r\nHost: ${authority}\r\n\r\n`);
    const text = await c.closedAfter();
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /connection: close\r\n/i);
    assert.doesNotMatch(text, /transfer-encoding/i);
    assert.ok(text.endsWith('\r\n\r\npart one, part two'), JSON.stringify(text));
  });

  it('keeps an HTTP/1.0 keep-alive connection open for a sized response', async () => {
    const c = new Conversation(client.ports.outbound);
    c.socket.write(`GET /one HTTP/1.0\r\nHost: ${authority}\r\nConnection: keep-alive\r\n\r\n`);
    await c.until((t) => t.includes('GET /one'));
    assert.match(c.text, /connection: keep-alive\r\n/i);
    c.socket.write(`GET /two HTTP/1.0\r\nHost: ${authority}\r\nConnection: keep-alive\r\n\r\n`);
    await c.until((t) => t.includes('GET /two'));
    c.socket.destroy();
  });

  it('keeps the connection after an error of its own (503), and serves the next request', async () => {
    const empty = `nobody.shop.svc.cluster.local:80`;
    client.staticResolver?.set(empty, []);
    const c = new Conversation(client.ports.outbound);
    c.socket.write(`GET /x HTTP/1.1\r\nHost: ${empty}\r\n\r\n`);
    const failed = await c.until((t) => t.endsWith('has no endpoints (E_NO_ENDPOINTS)\n'));
    assert.match(failed, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(failed, /l5d-proxy-error: [^\r\n]*has no endpoints/);
    c.socket.write(`GET /after HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    await c.until((t) => t.includes('GET /after'));
    c.socket.destroy();
  });

  it('drops the rest of a body the server answered early, then serves the next request', async () => {
    const c = new Conversation(client.ports.outbound);
    c.socket.write(`POST /early HTTP/1.1\r\nHost: ${authority}\r\nContent-Length: 10\r\n\r\n12345`);
    await c.until((t) => t.includes('too big\n'));
    assert.match(c.text, /^HTTP\/1\.1 413 /);
    c.socket.write(`67890GET /next HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    await c.until((t) => t.includes('GET /next'));
    c.socket.destroy();
  });

  it('answers a half-closed client, then closes', async () => {
    const c = new Conversation(client.ports.outbound);
    c.socket.end(`GET /half HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    const text = await c.closedAfter();
    assert.match(text, /GET \/half body=/);
  });

  it('answers 400 naming the fault of a malformed request, and closes', async () => {
    for (const [request, fault] of [
      [`GET / HTTP/1.1\r\nHost: ${authority}\r\nBad Header: x\r\n\r\n`, /malformed header line/],
      [
        `GET / HTTP/1.1\r\nHost: ${authority}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n`,
        /conflicting/,
      ],
      [`POST / HTTP/1.1\r\nHost: ${authority}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`, /chunk size/],
      [`GET / HTTP/1.1\r\n\r\n`, /no Host/],
    ] as const) {
      const c = new Conversation(client.ports.outbound);
      c.socket.write(request);
      const text = await c.closedAfter();
      assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/, request);
      const reason = /l5d-proxy-error: ([^\r\n]*)/.exec(text)?.[1] ?? '';
      assert.match(reason, fault, request);
    }
  });
});

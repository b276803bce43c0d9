import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ProxyError } from '../errors.ts';
import { connectPlain } from '../transport/connect.ts';
import { type Http1Connection, type Http1Exchange, Http1Pool } from './http1-pool.ts';

interface Outcome {
  status: number;
  head: string;
  body: string;
  trailers: string[];
}

/** One request through the pool; resolves with the response or rejects with the exchange error. */
function exchange(
  pool: Http1Pool,
  head: string,
  send: (connection: Http1Connection) => void = (c) => c.send(head),
): Promise<Outcome> & { sent?: boolean } {
  let sent: boolean | undefined;
  const promise = new Promise<Outcome>((resolve, reject) => {
    const outcome: Outcome = { status: 0, head: '', body: '', trailers: [] };
    const x: Http1Exchange = {
      head: head.startsWith('HEAD '),
      cancelled: false,
      onConnection: send,
      onResponseHead(head) {
        outcome.status = head.status;
        outcome.head = head.lines.toString('latin1');
      },
      onResponseBody(chunk) {
        outcome.body += chunk.toString();
      },
      onResponseEnd(trailers) {
        outcome.trailers = trailers;
        resolve(outcome);
      },
      onExchangeError(error, wasSent) {
        sent = wasSent;
        reject(Object.assign(error as Error, { sent: wasSent }));
      },
    };
    pool.request(x);
  });
  return Object.assign(promise, { sent });
}

describe('pooled HTTP/1.1 connections to an upstream', () => {
  let server: http.Server;
  let port: number;
  let connections = 0;

  before(async () => {
    server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        if (req.url === '/close') res.setHeader('connection', 'close');
        if (req.url === '/cut') {
          res.writeHead(200, { 'content-length': 100 });
          res.write('partial');
          setImmediate(() => req.socket.destroy());
          return;
        }
        if (req.url === '/early') return;
        if (req.url === '/trailers') {
          res.writeHead(200, { trailer: 'x-sum' });
          res.write('a');
          res.addTrailers({ 'x-sum': '1' });
          res.end();
          return;
        }
        res.end(`${req.method} ${req.url} ${req.headers['transfer-encoding'] ?? '-'} ${body}`);
      });
    });
    server.on('connection', () => connections++);
    // Answers before the request body is complete (as a server refusing an upload does).
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url === '/early') res.writeHead(413, { 'content-length': 0, connection: 'keep-alive' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => server.close());

  const pool = (idleMs = 5000, onEmpty?: () => void) =>
    new Http1Pool(() => connectPlain('127.0.0.1', port, 2000, { reuseBuffer: false }), idleMs, onEmpty);
  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: upstream\r\n\r\n`;

  it('carries requests one after another on one connection', async () => {
    const p = pool();
    const before = connections;
    for (let i = 0; i < 5; i++) {
      const outcome = await exchange(p, get(`/${i}`));
      assert.equal(outcome.status, 200);
      // Node's keep-alive fields belong to this connection and stay behind.
      assert.match(outcome.head, /^HTTP\/1\.1 200 OK\r\n/);
      assert.doesNotMatch(outcome.head, /^(connection|keep-alive):/im);
      assert.equal(outcome.body, `GET /${i} - `);
    }
    assert.equal(connections - before, 1);
    p.close();
  });

  it('opens a new connection after the server answers with connection: close', async () => {
    const p = pool();
    const before = connections;
    await exchange(p, get('/close'));
    assert.equal((await exchange(p, get('/next'))).body, 'GET /next - ');
    assert.equal(connections - before, 2);
    p.close();
  });

  it('streams a chunked body as framed, then takes the response', async () => {
    const p = pool();
    const outcome = await exchange(
      p,
      'POST /upload HTTP/1.1\r\nHost: upstream\r\nTransfer-Encoding: chunked\r\n\r\n',
      (connection) => {
        connection.sendHead('POST /upload HTTP/1.1\r\nHost: upstream\r\nTransfer-Encoding: chunked\r\n\r\n');
        connection.writeBody(Buffer.from('4\r\none \r\n'));
        connection.writeBody(Buffer.from('3\r\ntwo\r\n0\r\n\r\n'));
        connection.endBody();
      },
    );
    assert.equal(outcome.body, 'POST /upload chunked one two');
    p.close();
  });

  it('passes response trailers', async () => {
    const p = pool();
    const outcome = await exchange(p, get('/trailers'));
    assert.equal(outcome.body, 'a');
    assert.deepEqual(outcome.trailers, ['x-sum', '1']);
    p.close();
  });

  it('fails an exchange whose connection closes mid-response, as sent', async () => {
    const p = pool();
    await assert.rejects(
      exchange(p, get('/cut')),
      (error: ProxyError & { sent: boolean }) =>
        error instanceof ProxyError && error.code === 'E_UPSTREAM_CLOSED' && error.sent,
    );
    assert.equal((await exchange(p, get('/after'))).body, 'GET /after - ');
    p.close();
  });

  it('fails an exchange that got no connection, as not sent', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const p = new Http1Pool(() => connectPlain('127.0.0.1', deadPort, 2000, { reuseBuffer: false }), 5000);
    await assert.rejects(
      exchange(p, get('/')),
      (error: ProxyError & { sent: boolean }) => error.code === 'E_CONNECT' && !error.sent,
    );
  });

  it('tells its owner once a connection closes and none is left idle', async () => {
    let emptied = 0;
    let signal: () => void = () => {};
    const empty = new Promise<void>((resolve) => (signal = resolve));
    const p = pool(300, () => {
      emptied++;
      signal();
    });
    assert.equal((await exchange(p, get('/kept'))).status, 200);
    assert.equal(emptied, 0, 'a connection is idle in the pool');
    await empty;
    assert.equal(emptied, 1, 'the idle connection timed out');
    p.close();
  });

  it('closes a connection once it has been idle for the idle time, counted from its last use', async () => {
    const sockets = new Set<net.Socket>();
    let closed = 0;
    const track = (req: http.IncomingMessage) => {
      if (!req.url?.startsWith('/idle-') || sockets.has(req.socket)) return;
      sockets.add(req.socket);
      req.socket.once('close', () => closed++);
    };
    server.on('request', track);
    const p = pool(800);
    // Two connections at once; a while later the newer idle one carries one more request.
    await Promise.all([exchange(p, get('/idle-a')), exchange(p, get('/idle-b'))]);
    assert.equal(sockets.size, 2);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await exchange(p, get('/idle-again'));
    // About 1,200 ms in: the untouched one has been idle that long, the one used again 600 ms.
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(closed, 1, 'only the connection idle since the start has closed');
    // Within a quarter of the idle time after its own 800 ms, the other closes too.
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(closed, 2, 'the connection used again has closed as well');
    server.off('request', track);
    p.close();
  });

  it('drops an idle connection the server closed, and opens another', async () => {
    const p = pool();
    const before = connections;
    let upstreamSocket: net.Socket | undefined;
    server.once('request', (req: http.IncomingMessage) => {
      upstreamSocket = req.socket;
    });
    await exchange(p, get('/first'));
    upstreamSocket?.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await exchange(p, get('/second'))).body, 'GET /second - ');
    assert.equal(connections - before, 2);
    p.close();
  });

  it('does not reuse a connection whose response came before the whole request body was sent', async () => {
    const p = pool();
    const before = connections;
    const early = await exchange(p, 'POST /early HTTP/1.1\r\n', (connection) => {
      connection.sendHead('POST /early HTTP/1.1\r\nHost: upstream\r\nContent-Length: 10\r\n\r\n');
      connection.writeBody(Buffer.from('12345'));
    });
    assert.equal(early.status, 413);
    assert.equal((await exchange(p, get('/later'))).body, 'GET /later - ');
    assert.equal(connections - before, 2);
    p.close();
  });
});

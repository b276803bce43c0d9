import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_HEAD_LIMITS } from '../http1/head.ts';
import { createLogger } from '../log.ts';
import {
  OutboundAppConnection,
  type OutboundAppContext,
  readRequestTarget,
  requestAuthority,
} from './app-connection.ts';
import type { AppExchange } from './app-exchange.ts';

/**
 * A listener whose connections are OutboundAppConnections and whose requests
 * are answered by `answer` (the forwarder's place), on real sockets.
 */
async function appListener(answer: (exchange: AppExchange, authority: string) => void) {
  const connections = new Set<OutboundAppConnection>();
  let draining = false;
  const context: OutboundAppContext = {
    log: createLogger('error'),
    limits: DEFAULT_HEAD_LIMITS,
    forward: answer,
    upgrade: (_request, socket) => socket.end('HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n'),
    tunnel: (socket, authority) =>
      socket.end(`HTTP/1.1 200 OK\r\ncontent-length: ${authority.length}\r\n\r\n${authority}`),
    draining: () => draining,
    released: (connection) => connections.delete(connection),
  };
  const server = net.createServer((socket) =>
    connections.add(new OutboundAppConnection(socket, undefined, context)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    drain() {
      draining = true;
      for (const connection of connections) connection.drain();
    },
    close: () => server.close(),
  };
}

/** A raw client connection and what it has read. */
async function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setEncoding('latin1');
  const state = { text: '', ended: false };
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  socket.on('data', (d: string) => {
    state.text += d;
    wake();
  });
  socket.on('close', () => {
    state.ended = true;
    wake();
  });
  return {
    socket,
    state,
    async until(done: (text: string) => boolean): Promise<string> {
      while (!done(state.text)) {
        if (state.ended) assert.fail(`closed after ${JSON.stringify(state.text)}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return state.text;
    },
    async closed(): Promise<string> {
      while (!state.ended) await new Promise<void>((resolve) => waiters.push(resolve));
      return state.text;
    },
  };
}

describe('an outbound application connection', () => {
  const pending: AppExchange[] = [];
  let listener: Awaited<ReturnType<typeof appListener>>;

  before(async () => {
    listener = await appListener((exchange, authority) => {
      if (exchange.path === '/later') {
        pending.push(exchange);
        return;
      }
      let body = '';
      exchange.readBody(
        (chunk) => (body += chunk.toString('latin1')),
        () => {
          const text = `${exchange.method} ${exchange.path} host=${exchange.absoluteHost} to ${authority} body=${body}`;
          exchange.writeHead(200, 'OK', ['content-length', String(text.length)]);
          exchange.write(Buffer.from(text, 'latin1'));
          exchange.end();
        },
      );
    });
  });
  after(() => listener.close());

  it('holds a pipelined request until the one before it is answered', async () => {
    const client = await rawClient(listener.port);
    client.socket.write('GET /later HTTP/1.1\r\nHost: a:1\r\n\r\nGET /next HTTP/1.1\r\nHost: a:1\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(client.state.text, '', 'the second request was answered before the first');
    const first = pending.shift() as AppExchange;
    first.writeHead(200, 'OK', ['content-length', '5']);
    first.write(Buffer.from('first'));
    first.end();
    const text = await client.until((t) => t.includes('GET /next'));
    assert.ok(text.indexOf('first') < text.indexOf('GET /next'));
    client.socket.destroy();
  });

  it('gives the forwarder an absolute-form request as its path, its host and its authority', async () => {
    const client = await rawClient(listener.port);
    client.socket.write('GET http://web.shop:8080/a?b=1 HTTP/1.1\r\nHost: other\r\n\r\n');
    const text = await client.until((t) => t.includes('body='));
    assert.match(text, /GET \/a\?b=1 host=web\.shop:8080 to web\.shop:8080 body=$/);
    client.socket.destroy();
  });

  it('tells the forwarder when the application goes away mid-request', async () => {
    const client = await rawClient(listener.port);
    client.socket.write('GET /later HTTP/1.1\r\nHost: a:1\r\n\r\n');
    while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const exchange = pending.shift() as AppExchange;
    const aborted = new Promise<void>((resolve) => exchange.onAbort(resolve));
    client.socket.destroy();
    await aborted;
    // Writing to a finished exchange does nothing.
    exchange.writeHead(200, 'OK', []);
    assert.equal(exchange.write(Buffer.from('x')), true);
  });

  it('writes each response whole and in order however its head and body pieces arrive', {
    timeout: 5000,
  }, async () => {
    const client = await rawClient(listener.port);
    const next = async () => {
      while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      return pending.shift() as AppExchange;
    };
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    const large = 'L'.repeat(40_000);
    client.socket.write(
      'GET /later HTTP/1.1\r\nHost: a:1\r\n\r\n'.repeat(5) + 'HEAD /later HTTP/1.1\r\nHost: a:1\r\n\r\n',
    );
    // The body comes a tick after the head.
    let exchange = await next();
    exchange.writeHead(200, 'OK', ['content-length', '5']);
    await tick();
    exchange.write(Buffer.from('later'));
    exchange.end();
    // A body too large to copy behind its head.
    exchange = await next();
    exchange.writeHead(200, 'OK', ['content-length', String(large.length)]);
    exchange.write(Buffer.from(large));
    exchange.end();
    // Chunked, over several ticks, with trailers.
    exchange = await next();
    exchange.writeHead(200, 'OK', ['trailer', 'x-sum']);
    exchange.write(Buffer.from('ab'));
    await tick();
    exchange.write(Buffer.from('cde'));
    exchange.end(['x-sum', '5']);
    // Chunked and empty, ended at once.
    exchange = await next();
    exchange.writeHead(200, 'OK', []);
    exchange.end();
    // An upstream's head passed on as it came, its body's length unknown.
    exchange = await next();
    const lines = Buffer.from('HTTP/1.1 200 OK\r\nx-up: 1\r\n');
    exchange.forwardHead({ status: 200, grpcStatus: undefined, hasLength: false, lines });
    exchange.write(Buffer.from('up'));
    exchange.end(['x-sum', '2']);
    // No body at all.
    exchange = await next();
    exchange.writeHead(200, 'OK', ['content-length', '7']);
    exchange.end();
    const expected =
      'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nlater' +
      `HTTP/1.1 200 OK\r\ncontent-length: ${large.length}\r\n\r\n${large}` +
      'HTTP/1.1 200 OK\r\ntrailer: x-sum\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\nx-sum: 5\r\n\r\n' +
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nx-up: 1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nup\r\n0\r\nx-sum: 2\r\n\r\n' +
      'HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n';
    assert.equal(await client.until((t) => t.length >= expected.length), expected);
    client.socket.destroy();
  });

  it('answers a proxy error with its reason and keeps the connection', async () => {
    const client = await rawClient(listener.port);
    client.socket.write('GET /later HTTP/1.1\r\nHost: a:1\r\n\r\n');
    while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    (pending.shift() as AppExchange).respondError(504, 'no response in 10 ms\r\nfrom x');
    const text = await client.until((t) => t.endsWith('from x\n'));
    assert.match(
      text,
      /^HTTP\/1\.1 504 Gateway Timeout\r\n[\s\S]*l5d-proxy-error: no response in 10 ms from x\r\n/,
    );
    client.socket.write('GET /again HTTP/1.1\r\nHost: a:1\r\n\r\n');
    await client.until((t) => t.includes('GET /again'));
    client.socket.destroy();
  });

  it('hands CONNECT over with its target', async () => {
    const client = await rawClient(listener.port);
    client.socket.write('CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n');
    assert.match(await client.closed(), /\r\n\r\ndb\.example:5432$/);
  });

  it('answers 408 to a head still incomplete after the head timeout, and closes idle connections', async () => {
    const slow = await rawClient(listener.port);
    slow.socket.write('GET / HTTP/1.1\r\nHost: a');
    const idle = await rawClient(listener.port);
    idle.socket.write('GET /idle HTTP/1.1\r\nHost: a:1\r\n\r\n');
    await idle.until((t) => t.includes('GET /idle'));
    // The listener's sweep, driven by hand: ticks of one second.
    for (let tick = 1; tick <= 12; tick++) for (const c of listener.connections) c.sweep(tick, 10, 5);
    assert.match(
      await slow.closed(),
      /^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*request head incomplete after 10 s/,
    );
    await idle.closed();
    assert.equal(listener.connections.size, 0);
  });

  it('builds the upstream head from the bytes sent, without the fields of this connection', async () => {
    const client = await rawClient(listener.port);
    client.socket.write(
      'POST http://web.shop:8080/later HTTP/1.1\r\nhost: other\r\nConnection: keep-alive, X-Hop\r\n' +
        'X-Hop: 1\r\nAccept: */*\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\nX-Last: z\r\n\r\n0\r\n\r\n',
    );
    while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const exchange = pending.shift() as AppExchange;
    assert.equal(exchange.transferEncoding, true);
    assert.equal(exchange.contentLength, -1);
    assert.equal(
      exchange.upstreamHead(undefined).toString('latin1'),
      'POST /later HTTP/1.1\r\nhost: other\r\nAccept: */*\r\nX-Last: z\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    assert.equal(
      exchange.upstreamHead('web.shop:8080').toString('latin1'),
      'POST /later HTTP/1.1\r\nHost: web.shop:8080\r\nAccept: */*\r\nX-Last: z\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    // Every field as sent, for the paths that read them by name.
    assert.deepEqual(
      exchange.rawHeaders.filter((_, i) => i % 2 === 0),
      ['host', 'Connection', 'X-Hop', 'Accept', 'TE', 'Transfer-Encoding', 'X-Last'],
    );
    exchange.respondError(502, 'done');
    await client.until((t) => t.endsWith('done\n'));
    client.socket.destroy();
  });

  it('closes idle connections on drain and busy ones after their response, with connection: close', async () => {
    const busy = await rawClient(listener.port);
    const idle = await rawClient(listener.port);
    busy.socket.write('GET /later HTTP/1.1\r\nHost: a:1\r\n\r\n');
    while (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    listener.drain();
    await idle.closed();
    const exchange = pending.shift() as AppExchange;
    exchange.writeHead(200, 'OK', ['content-length', '4']);
    exchange.write(Buffer.from('last'));
    exchange.end();
    assert.match(await busy.closed(), /connection: close\r\n\r\nlast$/);
  });
});

describe('the target of an application request', () => {
  const authorityOf = (target: string, host: string | undefined, fixed?: string) =>
    requestAuthority(readRequestTarget(target), host, fixed);

  it('is the listener’s, else the absolute-form URL’s, else the Host field’s, with a default port', () => {
    assert.equal(authorityOf('/x', 'web', 'fixed.svc:80'), 'fixed.svc:80');
    assert.equal(authorityOf('http://web.shop/x', 'other'), 'web.shop:80');
    assert.equal(authorityOf('https://web.shop/x', undefined), 'web.shop:443');
    assert.equal(authorityOf('http://[::1]:8080/x', undefined), '[::1]:8080');
    assert.equal(authorityOf('/x', 'web.shop:8080'), 'web.shop:8080');
    assert.equal(authorityOf('/x', 'web.shop'), 'web.shop:80');
    assert.equal(
      authorityOf('*', 'web.shop'),
      'web.shop:80',
      'asterisk-form (OPTIONS *) names no host itself',
    );
    assert.equal(authorityOf('/x', undefined), '');
    assert.equal(authorityOf('http://%zz/', 'web.shop'), '', 'a URL that does not parse names no host');
  });

  it('is read once into the origin-form path sent upstream and the host for the Host field', () => {
    assert.deepEqual(readRequestTarget('/a?b=1'), {
      path: '/a?b=1',
      absoluteHost: undefined,
      absoluteAuthority: undefined,
    });
    assert.deepEqual(readRequestTarget('http://web.shop:8080/a/b?c=d'), {
      path: '/a/b?c=d',
      absoluteHost: 'web.shop:8080',
      absoluteAuthority: 'web.shop:8080',
    });
    assert.deepEqual(readRequestTarget('http://web.shop'), {
      path: '/',
      absoluteHost: 'web.shop',
      absoluteAuthority: 'web.shop:80',
    });
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { testMesh, viaProxy } from './helpers.ts';
import { type MeshedPair, meshedPair } from './meshed-pair.ts';

const BIG = 8 * 1024 * 1024;
const bigBody = Buffer.alloc(BIG, 'abcdefghij');
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Sends a request head with `Expect: 100-continue` to the outbound listener,
 * the body only once 100 Continue came back; resolves with all it received.
 */
function expectContinue(port: number, authority: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(
        `POST http://${authority}/expect HTTP/1.1\r\nHost: ${authority}\r\nExpect: 100-continue\r\n` +
          `Content-Length: ${body.length}\r\n\r\n`,
      ),
    );
    let received = '';
    let sent = false;
    socket.on('data', (data) => {
      received += data.toString('latin1');
      if (!sent && received.includes('100 Continue\r\n\r\n')) {
        sent = true;
        socket.write(body);
      }
      if (received.includes('"sha"')) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', reject);
    socket.on('end', () => resolve(received));
  });
}

describe('the outbound HTTP/1.1 client between proxies', () => {
  const mesh = testMesh();
  let app: http.Server;
  let pair: MeshedPair;
  let client: RunningProxy;
  let authority: string;

  before(async () => {
    app = http.createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': BIG });
        res.end(bigBody);
        return;
      }
      if (req.url === '/unframed') {
        // No length and no chunking: the body runs until the connection closes.
        res.socket?.write('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end');
        res.socket?.end();
        return;
      }
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        if (req.url === '/close') res.setHeader('connection', 'close');
        res.writeHead(200, { 'content-type': 'application/json', 'x-info': 'yes' });
        res.end(JSON.stringify({ method: req.method, size, sha: hash.digest('hex') }));
      });
    });
    pair = await meshedPair(mesh, app, { service: 'web', caller: 'frontend' });
    ({ client, authority } = pair);
  });

  after(async () => {
    await pair.close();
    app.closeAllConnections();
  });

  it('passes a large response to a client that reads slowly, intact', async () => {
    const received = await new Promise<Buffer>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: client.ports.outbound, path: `http://${authority}/big` },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            // Pause now and then, so the proxy must hold the upstream back.
            if (chunks.length % 16 === 0) {
              res.pause();
              setTimeout(() => res.resume(), 5);
            }
          });
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });
    assert.equal(received.length, BIG);
    assert.equal(sha(received), sha(bigBody));
  });

  it('sends a large request body of known length, intact', async () => {
    const res = await viaProxy(client.ports.outbound, `http://${authority}/upload`, {
      method: 'POST',
      headers: { 'content-length': BIG },
      body: [bigBody],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { method: 'POST', size: BIG, sha: sha(bigBody) });
  });

  it('answers HEAD without a body and keeps the connection for the next request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const head = await viaProxy(client.ports.outbound, `http://${authority}/big`, { method: 'HEAD', agent });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(BIG));
    assert.equal(head.body, '');
    const next = await viaProxy(client.ports.outbound, `http://${authority}/after-head`, { agent });
    assert.equal(JSON.parse(next.body).method, 'GET');
    agent.destroy();
  });

  it('passes a body that ends with the connection, and serves the next request on a new one', async () => {
    const unframed = await viaProxy(client.ports.outbound, `http://${authority}/unframed`);
    assert.equal(unframed.body, 'until the end');
    const closing = await viaProxy(client.ports.outbound, `http://${authority}/close`);
    assert.equal(JSON.parse(closing.body).method, 'GET');
    const next = await viaProxy(client.ports.outbound, `http://${authority}/next`);
    assert.equal(JSON.parse(next.body).method, 'GET');
  });

  it('forwards a request that waits for 100 Continue before sending its body', async () => {
    const body = 'sent after continue';
    const text = await expectContinue(client.ports.outbound, authority, body);
    assert.match(text, /^HTTP\/1\.1 100 Continue\r\n/);
    assert.deepEqual(JSON.parse(/\{.*\}/.exec(text)?.[0] ?? 'null'), {
      method: 'POST',
      size: body.length,
      sha: sha(Buffer.from(body)),
    });
  });
});

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type AdminServer, createAdminServer } from './server.ts';

/** Writes `message` on a new connection and collects what comes back until the server closes, or `until` holds. */
function talk(port: number, message: string, until?: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(message));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (until?.(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}

describe('the admin server', () => {
  let server: AdminServer;
  let port: number;
  let ready = false;
  let shutdowns = 0;

  before(async () => {
    server = createAdminServer({
      ready: () => ready,
      metrics: () => 'request_total{direction="outbound"} 3\n',
      shutdown: () => shutdowns++,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => server.close());

  it('answers several requests on one kept-alive connection', async () => {
    ready = false;
    const text = await talk(
      port,
      'GET /live HTTP/1.1\r\nHost: a\r\n\r\nGET /ready HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n',
      (t) => t.includes('outbound"} 3\n'),
    );
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+) [^\r]*\r\n/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '503', '200']);
    assert.match(
      text,
      /content-type: text\/plain; version=0\.0\.4\r\ncontent-length: 38\r\n\r\nrequest_total/,
    );
    assert.doesNotMatch(text, /connection: close/);
  });

  it('closes after a request that asks it to, and after an HTTP/1.0 one', async () => {
    ready = true;
    assert.match(
      await talk(port, 'GET /ready HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'),
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*connection: close\r\n\r\nready\n$/,
    );
    assert.match(await talk(port, 'GET /live HTTP/1.0\r\n\r\n'), /connection: close\r\n\r\nlive\n$/);
  });

  it('shuts down only on POST, reading and ignoring a body', async () => {
    assert.match(
      await talk(port, 'GET /shutdown HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'),
      /^HTTP\/1\.1 405 /,
    );
    assert.equal(shutdowns, 0);
    const text = await talk(
      port,
      'POST /shutdown HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nnowGET /nowhere HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*shutdown\n[\s\S]*HTTP\/1\.1 404 Not Found\r\n/);
    assert.equal(shutdowns, 1);
  });

  it('answers 400 naming the fault of a malformed request, and closes', async () => {
    const text = await talk(port, 'GET /live HTTP/1.1\r\nHost: a\r\nNo Colon Here\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(text, /l5d-proxy-error: malformed admin request: malformed header line/);
    assert.match(await talk(port, 'GET /live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), /200 OK/);
  });

  it('closes connections handed to it when asked', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    server.closeAllConnections();
    await closed;
  });
});

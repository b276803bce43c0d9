import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, meshedEndpoint, metricValue, proxyWith, scrape, testMesh, waitFor } from './helpers.ts';

/** Reads from a socket until `predicate` holds on everything received. */
function readUntil(socket: net.Socket, predicate: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      if (predicate(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('opaque TCP through two proxies over mTLS', () => {
  const mesh = testMesh();
  const dbId = mesh.identity('db', 'shop');
  let smtp: net.Server;
  let smtpPort: number;
  let binary: net.Server;
  let binaryPort: number;
  let server: RunningProxy;
  let client: RunningProxy;

  before(async () => {
    // Server speaks first, like SMTP or MySQL.
    smtp = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.write('220 mail ready\r\n');
      let received = '';
      socket.on('data', (d) => {
        received += d;
        socket.write(`250 got ${d.toString().trim()}\r\n`);
      });
      // Half-close: answer after the client has finished sending.
      socket.on('end', () => socket.end(`221 bye after ${received.length} bytes\r\n`));
    });
    smtpPort = await listen(smtp);
    binary = net.createServer((socket) => socket.pipe(socket));
    binaryPort = await listen(binary);
    server = await proxyWith({}, { credentials: mesh.credentials('db', 'shop') });
    const smtpAuthority = `mail.shop.svc.cluster.local:${smtpPort}`;
    const binaryAuthority = `bin.shop.svc.cluster.local:${binaryPort}`;
    client = await proxyWith(
      {
        opaquePorts: [smtpPort],
        endpoints: {
          [smtpAuthority]: [meshedEndpoint(server, smtpPort, dbId)],
          [binaryAuthority]: [meshedEndpoint(server, binaryPort, dbId)],
        },
        outbound: {
          host: '127.0.0.1',
          port: 0,
          listeners: [
            { port: 0, target: smtpAuthority },
            { port: 0, target: binaryAuthority },
          ],
        },
        timeouts: { detectMs: 200, drainMs: 1000 },
      },
      { credentials: mesh.credentials('web', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await server.close();
    smtp.close();
    binary.close();
  });

  it('lets the server speak first on an opaque port, and passes half-closes', async () => {
    const socket = net.connect({
      port: client.ports.listeners[0] as number,
      host: '127.0.0.1',
      allowHalfOpen: true,
    });
    const banner = await readUntil(socket, (t) => t.includes('\r\n'));
    assert.equal(banner, '220 mail ready\r\n');
    socket.write('HELO me\r\n');
    assert.match(await readUntil(socket, (t) => t.includes('250')), /250 got HELO me/);
    const goodbye = readUntil(socket, (t) => t.includes('221'));
    socket.end();
    assert.match(await goodbye, /221 bye after 9 bytes/);
    await new Promise((resolve) => socket.once('close', resolve));
    const metrics = await scrape(server.ports.admin);
    assert.ok(metricValue(metrics, 'tcp_read_bytes_total', 'direction="inbound"', 'tls="true"') > 0);
  });

  it('forwards a client-speaks-first binary protocol as opaque after detection', async () => {
    const socket = net.connect({ port: client.ports.listeners[1] as number, host: '127.0.0.1' });
    const payload = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x10, 0x20]);
    socket.write(payload);
    const echoed = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (d) => {
        chunks.push(d);
        if (Buffer.concat(chunks).length >= payload.length) resolve(Buffer.concat(chunks));
      });
    });
    assert.deepEqual(echoed, payload);
    socket.destroy();
  });

  it('keeps serving after a client resets mid-stream', async () => {
    const socket = net.connect({ port: client.ports.listeners[1] as number, host: '127.0.0.1' });
    socket.write('abc');
    await readUntil(socket, (t) => t === 'abc');
    socket.resetAndDestroy();
    await waitFor(() => socket.destroyed);
    const again = net.connect({ port: client.ports.listeners[1] as number, host: '127.0.0.1' });
    again.write('still here');
    assert.equal(await readUntil(again, (t) => t === 'still here'), 'still here');
    again.destroy();
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, memoryLog, meshedEndpoint, proxyWith, testMesh, viaProxy } from './helpers.ts';

describe('slow and silent clients on the inbound side', () => {
  const mesh = testMesh();
  const log = memoryLog();
  let banner: net.Server;
  let app: http.Server;
  let server: RunningProxy;
  let client: RunningProxy;
  let authority: string;

  before(async () => {
    // A server-speaks-first application on a port not declared opaque.
    banner = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.write('220 hello\r\n');
      socket.on('data', () => socket.end());
    });
    const bannerPort = await listen(banner);
    app = http.createServer((_req, res) => res.end('ok'));
    const appPort = await listen(app);
    authority = `web.shop.svc.cluster.local:${appPort}`;
    server = await proxyWith(
      {
        inbound: { host: '127.0.0.1', port: 0, appPort: bannerPort },
        timeouts: { handshakeMs: 300, drainMs: 500 },
      },
      { credentials: mesh.credentials('web', 'shop'), log },
    );
    client = await proxyWith(
      { endpoints: { [authority]: [meshedEndpoint(server, appPort, mesh.identity('web', 'shop'))] } },
      { credentials: mesh.credentials('frontend', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await server.close();
    app.close();
    banner.close();
  });

  it('forwards a silent plaintext client as opaque after the detect timeout (server speaks first)', async () => {
    const socket = net.connect(server.ports.inbound, '127.0.0.1');
    const greeting = await new Promise<string>((resolve) =>
      socket.once('data', (d) => resolve(d.toString())),
    );
    assert.equal(greeting, '220 hello\r\n');
    socket.destroy();
  });

  it('survives a client that starts a TLS hello and stalls (slowloris), and keeps serving others', async () => {
    const socket = net.connect(server.ports.inbound, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    socket.resume();
    // After the timeout the bytes go to the application as plaintext, which hangs up on them.
    await new Promise((resolve) => socket.once('close', resolve));
    const res = await viaProxy(client.ports.outbound, `http://${authority}/`);
    assert.equal(res.status, 200);
  });
});

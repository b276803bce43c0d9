import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, meshedEndpoint, proxyWith, testMesh, viaProxy } from './helpers.ts';

const cli = new URL('../../../src/cmd/strait.ts', import.meta.url).pathname;

describe('strait tap', () => {
  const mesh = testMesh();
  let app: http.Server;
  let server: RunningProxy;
  let client: RunningProxy;
  let authority: string;

  before(async () => {
    app = http.createServer((_req, res) => res.end('ok'));
    const appPort = await listen(app);
    authority = `web.shop.svc.cluster.local:${appPort}`;
    server = await proxyWith({}, { credentials: mesh.credentials('web', 'shop') });
    client = await proxyWith(
      { endpoints: { [authority]: [meshedEndpoint(server, appPort, mesh.identity('web', 'shop'))] } },
      { credentials: mesh.credentials('frontend', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await server.close();
    app.close();
  });

  it('streams request metadata from a proxy, filtered by path', async () => {
    const child = spawn(
      process.execPath,
      [cli, 'tap', '--address', `127.0.0.1:${client.ports.tap}`, '--path', '/tapped', '-n', '2'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let running = true;
    void exited.then(() => (running = false));
    while (running) {
      await viaProxy(client.ports.outbound, `http://${authority}/ignored`);
      await viaProxy(client.ports.outbound, `http://${authority}/tapped/x`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await exited, 0, err);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.match(
        line,
        /^req proxy=out .*:method=GET :authority=web\.shop\.svc\.cluster\.local:\d+ :path=\/tapped\/x status=200 latency=\d+µs/,
      );
      assert.match(line, /server_id=web\.shop\.serviceaccount\.identity\.strait\.cluster\.local/);
    }
  });

  it('fails with a hint when nothing listens at the address', async () => {
    const child = spawn(process.execPath, [cli, 'tap', '--address', '127.0.0.1:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 1);
    assert.match(err, /E_TAP/);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, proxyWith, testMesh, viaProxy } from './helpers.ts';
import { type TapRun, tapWhileSending } from './tap-stream.ts';

describe('a tap on a non-loopback address', () => {
  const mesh = testMesh();
  const dir = mkdtempSync(join(tmpdir(), 'strait-tap-mtls-'));
  let app: http.Server;
  let proxy: RunningProxy;
  let authority: string;

  /** Writes a client certificate for `sa.ns` and returns the CLI flags that use it. */
  const certFlags = (sa: string, ns: string) => {
    const material = mesh.material(sa, ns);
    writeFileSync(join(dir, `${sa}.crt`), material.certChain);
    writeFileSync(join(dir, `${sa}.key`), material.key);
    writeFileSync(join(dir, 'ca.crt'), material.trustBundle);
    return ['--cert', join(dir, `${sa}.crt`), '--key', join(dir, `${sa}.key`), '--ca', join(dir, 'ca.crt')];
  };

  /** Runs `strait tap` against the proxy, sending requests until it exits. */
  const tap = (flags: string[]): Promise<TapRun> =>
    tapWhileSending(proxy.ports.tap, flags, () =>
      viaProxy(proxy.ports.outbound, `http://${authority}/tapped`),
    );

  before(async () => {
    app = http.createServer((_req, res) => res.end('ok'));
    const appPort = await listen(app);
    authority = `web.shop.svc.cluster.local:${appPort}`;
    proxy = await proxyWith(
      {
        tap: { host: '0.0.0.0', port: 0 },
        endpoints: { [authority]: [{ address: '127.0.0.1', port: appPort, labels: {} }] },
      },
      { credentials: mesh.credentials('web', 'shop') },
    );
  });

  after(async () => {
    await proxy.close();
    app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams to a client with an identity of the control-plane namespace, over mTLS', async () => {
    const result = await tap([
      ...certFlags('tap', 'strait'),
      '-n',
      '1',
      '--proxy-identity',
      mesh.identity('web', 'shop'),
    ]);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /^req proxy=out .*:path=\/tapped status=200/);
  });

  it('answers PERMISSION_DENIED to a mesh identity that is not allowed', async () => {
    const result = await tap([...certFlags('web', 'shop'), '-n', '1']);
    assert.equal(result.code, 1);
    assert.match(result.err, /not authorized for web\.shop\.serviceaccount\.identity/);
  });

  it('refuses a plaintext client', async () => {
    const result = await tap(['-n', '1']);
    assert.equal(result.code, 1);
    assert.match(result.err, /E_TAP/);
  });

  it('will not start without an identity to serve mTLS with', async () => {
    await assert.rejects(proxyWith({ tap: { host: '0.0.0.0', port: 0 } }), /tap on 0\.0\.0\.0 needs mTLS/);
  });
});

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { freePort } from '../../fixtures/ports.ts';
import { metricValue, proxyWith, scrape, testMesh, viaProxy } from './helpers.ts';

const proxyEntry = new URL('../../../src/cmd/proxy.ts', import.meta.url).pathname;

// The back end: gRPC-style HTTP/2 and HTTP/1.1 on fixed ports, answering with its generation.
const backendSource = `
import http from 'node:http';
import http2 from 'node:http2';
const generation = process.env.GENERATION;
const h2 = http2.createServer();
h2.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.resume();
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(generation);
  });
});
const h1 = http.createServer((_req, res) => res.end(generation));
let listening = 0;
const up = () => { if (++listening === 2) process.stdout.write('listening\\n'); };
h2.listen(Number(process.env.GRPC_PORT), '127.0.0.1', up);
h1.listen(Number(process.env.HTTP_PORT), '127.0.0.1', up);
process.on('SIGTERM', () => process.exit(0));
`;

/** Spawns a process and resolves once its output contains `ready`. */
function spawnUntil(
  args: string[],
  env: Record<string, string>,
  ready: string,
): Promise<{ child: ChildProcess; exit: Promise<unknown> }> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise((resolve) => child.once('exit', resolve));
  let text = '';
  return new Promise((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      text += chunk;
      if (text.includes(ready)) resolve({ child, exit });
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    void exit.then((code) => reject(new Error(`process exited (${code}) before "${ready}": ${text}`)));
  });
}

/**
 * One gRPC-style unary call over a fresh HTTP/2 connection; resolves with status and body.
 * A call with no answer in 20 s fails the test instead of hanging it.
 */
function grpcCall(port: number, authority: string): Promise<{ grpcStatus: string; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no answer from ${authority} through the proxy`));
    }, 20_000);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/demo.Backend/Hello',
      ':authority': authority,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let body = '';
    let grpcStatus = '';
    stream.on('response', (headers) => {
      if (headers['grpc-status']) grpcStatus = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers) => {
      grpcStatus = String(trailers['grpc-status'] ?? grpcStatus);
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => (body += chunk));
    stream.on('close', () => {
      clearTimeout(timer);
      session.close();
      resolve({ grpcStatus, body });
    });
    stream.on('error', reject);
    stream.end('hello');
  });
}

describe('HTTP/2 through the proxy when a back end restarts at the same address', () => {
  const mesh = testMesh();
  const backendId = mesh.identity('backend', 'shop');
  const dir = mkdtempSync(join(tmpdir(), 'strait-restart-'));
  const children: ChildProcess[] = [];
  let client: RunningProxy;
  let grpcPort: number;
  let httpPort: number;
  let inboundPort: number;
  let grpcAuthority: string;
  let httpAuthority: string;

  /** Starts the back end (a real process) at its fixed ports. */
  async function startApp(generation: string) {
    const app = await spawnUntil(
      ['--input-type=module', '-e', backendSource],
      { GENERATION: generation, GRPC_PORT: String(grpcPort), HTTP_PORT: String(httpPort) },
      'listening',
    );
    children.push(app.child);
    return stopper(app);
  }

  /** Starts the back end's proxy (a real process) at its fixed inbound port. */
  async function startBackendProxy() {
    const proxy = await spawnUntil(
      [proxyEntry],
      {
        STRAIT_PROXY_INBOUND_ADDR: `127.0.0.1:${inboundPort}`,
        STRAIT_PROXY_OUTBOUND_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_ADMIN_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_TAP_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_APP_HOST: '127.0.0.1',
        STRAIT_PROXY_IDENTITY_CERT_FILE: join(dir, 'cert.pem'),
        STRAIT_PROXY_IDENTITY_KEY_FILE: join(dir, 'key.pem'),
        STRAIT_PROXY_TRUST_BUNDLE_FILE: join(dir, 'bundle.pem'),
      },
      '"proxy started"',
    );
    children.push(proxy.child);
    return stopper(proxy);
  }

  const stopper = (started: { child: ChildProcess; exit: Promise<unknown> }) => ({
    async stop() {
      started.child.kill('SIGTERM');
      await started.exit;
    },
  });

  const call = () => grpcCall(client.ports.outbound, grpcAuthority);
  const get = async () => (await viaProxy(client.ports.outbound, `http://${httpAuthority}/`)).body;

  before(async () => {
    const material = mesh.material('backend', 'shop');
    writeFileSync(join(dir, 'cert.pem'), material.certChain);
    writeFileSync(join(dir, 'key.pem'), material.key);
    writeFileSync(join(dir, 'bundle.pem'), material.trustBundle);
    [grpcPort, httpPort, inboundPort] = [await freePort(), await freePort(), await freePort()];
    grpcAuthority = `backend.shop.svc.cluster.local:${grpcPort}`;
    httpAuthority = `backend.shop.svc.cluster.local:${httpPort}`;
    const endpoint = (port: number) => ({
      address: '127.0.0.1',
      port,
      tlsIdentity: backendId,
      opaqueTransportPort: inboundPort,
      labels: { namespace: 'shop', service: 'backend' },
    });
    client = await proxyWith(
      { endpoints: { [grpcAuthority]: [endpoint(grpcPort)], [httpAuthority]: [endpoint(httpPort)] } },
      { credentials: mesh.credentials('frontend', 'shop') },
    );
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await client?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers gRPC again once the back end and its proxy are restarted', async () => {
    let app = await startApp('first');
    let proxy = await startBackendProxy();
    assert.deepEqual(await call(), { grpcStatus: '0', body: 'first' });
    assert.equal(await get(), 'first');

    await Promise.all([app.stop(), proxy.stop()]);
    assert.equal((await call()).grpcStatus, '14', 'a call while the back end is down fails as UNAVAILABLE');

    app = await startApp('second');
    proxy = await startBackendProxy();
    assert.equal(await get(), 'second');
    assert.deepEqual(await call(), { grpcStatus: '0', body: 'second' });
    assert.deepEqual(await call(), { grpcStatus: '0', body: 'second' });
    const metrics = await scrape(client.ports.admin);
    assert.equal(
      metricValue(metrics, 'response_total', 'direction="outbound"', `authority="${grpcAuthority}"`),
      4,
    );
    await Promise.all([app.stop(), proxy.stop()]);
  });

  it('answers gRPC again once the back end alone is restarted behind its proxy', async () => {
    let app = await startApp('third');
    const proxy = await startBackendProxy();
    assert.deepEqual(await call(), { grpcStatus: '0', body: 'third' });

    await app.stop();
    assert.equal((await call()).grpcStatus, '14');

    app = await startApp('fourth');
    assert.deepEqual(await call(), { grpcStatus: '0', body: 'fourth' });
    await Promise.all([app.stop(), proxy.stop()]);
  });
});

describe('HTTP/2 through the proxy to a peer that never speaks', () => {
  let silent: net.Server;
  let client: RunningProxy;
  let authority: string;
  const held: net.Socket[] = [];

  before(async () => {
    // Accepts connections and never answers: no HTTP/2 settings ever arrive.
    silent = net.createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    authority = `mute.shop.svc.cluster.local:${port}`;
    client = await proxyWith({
      timeouts: { connectMs: 500, drainMs: 1000 },
      endpoints: { [authority]: [{ address: '127.0.0.1', port, labels: {} }] },
    });
  });

  after(async () => {
    for (const socket of held) socket.destroy();
    silent.close();
    await client?.close();
  });

  it('fails every waiting stream as UNAVAILABLE after the connect timeout', async () => {
    const calls = await Promise.all([1, 2, 3].map(() => grpcCall(client.ports.outbound, authority)));
    for (const result of calls) assert.equal(result.grpcStatus, '14');
    // The next stream tries a new connection instead of waiting on the failed one.
    const before = held.length;
    assert.equal((await grpcCall(client.ports.outbound, authority)).grpcStatus, '14');
    assert.ok(held.length > before, 'a new connection was made');
  });
});

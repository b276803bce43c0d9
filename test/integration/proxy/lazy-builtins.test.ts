// A proxy process loads node:http2 (about 2 MB of RSS) only once HTTP/2 traffic
// reaches it, and node:http (about 2 MB) not at all for HTTP/1.1: HTTP/1.1,
// opaque and admin traffic, meshed through its own inbound side, leave both
// unloaded. The proxy runs compiled, as launchers start it: from the
// TypeScript source, node:http's ES module facade loads node:http2 anyway (see
// scripts/builtin-imports.ts).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { dataPlaneEntry, PROXY_NODE_ARGS } from '../../../src/proxy/launch.ts';
import { freePort } from '../../fixtures/ports.ts';
import { listen, testMesh, viaProxy } from './helpers.ts';

// Loaded before the proxy's entry: answers each line on stdin with which of node:http2 and node:http are loaded.
const REPORTER = `process.stdin.setEncoding('utf8');
process.stdin.on('data', () => {
  const list = process.moduleLoadList;
  const http2 = list.some((m) => m === 'NativeModule http2' || m.includes('internal/http2'));
  const http = list.some((m) => m === 'NativeModule http' || m === 'NativeModule _http_server');
  process.stdout.write(JSON.stringify({ http2, http }) + '\\n');
});
`;

/**
 * The compiled proxy: the package's own build while it is up to date, else one
 * built now by scripts/build-proxy.ts into a temporary package that links to
 * this one's sources (symlinks kept, so the build lands there).
 */
function compiledProxy(): string {
  const entry = dataPlaneEntry('proxy');
  if (entry.endsWith('.js')) return entry;
  const root = new URL('../../../', import.meta.url).pathname;
  const pkg = mkdtempSync(join(tmpdir(), 'strait-lazy-builtins-build-'));
  for (const dir of ['package.json', 'src', 'scripts', 'node_modules'])
    symlinkSync(join(root, dir), join(pkg, dir));
  const output = execFileSync(
    process.execPath,
    ['--preserve-symlinks', '--preserve-symlinks-main', join(pkg, 'scripts', 'build-proxy.ts')],
    { cwd: pkg, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const compiled = join(pkg, 'dist', 'cmd', 'proxy.js');
  if (!existsSync(compiled)) throw new Error(`the proxy did not compile: ${output}`);
  return compiled;
}

interface ProxyProcess {
  child: ChildProcess;
  outbound: number;
  admin: number;
  /** Which of node:http2 and node:http the process has loaded by now. */
  loaded(): Promise<{ http2: boolean; http: boolean }>;
}

function startProxy(entry: string, env: Record<string, string>, reporter: string): Promise<ProxyProcess> {
  const child = spawn(process.execPath, [...PROXY_NODE_ARGS, '--import', reporter, entry], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const answers = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const loaded = async () => {
    child.stdin?.write('report\n');
    const { value } = await answers.next();
    return JSON.parse(String(value)) as { http2: boolean; http: boolean };
  };
  let text = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk) => {
      text += chunk;
      const line = text.split('\n').find((l) => l.includes('"proxy started"'));
      if (!line) return;
      const started = JSON.parse(line) as { outbound: string; admin: string };
      const port = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
      resolve({ child, outbound: port(started.outbound), admin: port(started.admin), loaded });
    });
    child.once('exit', (code) => reject(new Error(`proxy exited with ${code}: ${text}`)));
  });
}

/** Writes `message` on a fresh connection and reads until the other side ends. */
function exchange(port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(message));
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    socket.once('end', () => resolve(received));
    socket.once('error', reject);
  });
}

/** One HTTP/2 request with prior knowledge (h2c) to `port`, naming `authority`. */
function h2cRequest(port: number, authority: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once('error', reject);
    const stream = session.request({ ':path': '/h2', ':authority': authority });
    let status = 0;
    let body = '';
    stream.once('response', (headers) => (status = Number(headers[':status'])));
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => (body += chunk));
    stream.once('end', () => {
      session.close();
      resolve({ status, body });
    });
    stream.once('error', reject);
  });
}

describe('node:http and node:http2 in a proxy process', () => {
  const stop: Array<() => void> = [];
  after(() => {
    for (const close of stop) close();
  });

  it('HTTP/1.1, opaque and admin traffic load neither; the first HTTP/2 request loads node:http2', async () => {
    const entry = compiledProxy();
    const mesh = testMesh();
    const identity = mesh.identity('web', 'shop');
    const material = mesh.material('web', 'shop');
    const dir = mkdtempSync(join(tmpdir(), 'strait-lazy-builtins-'));
    writeFileSync(join(dir, 'cert.pem'), material.certChain);
    writeFileSync(join(dir, 'key.pem'), material.key);
    writeFileSync(join(dir, 'bundle.pem'), material.trustBundle);
    writeFileSync(join(dir, 'reporter.mjs'), REPORTER);

    const answer = (req: http.IncomingMessage | http2.Http2ServerRequest) =>
      `${req.url} from ${req.headers['strait-client-id']}`;
    const h1App = http.createServer((req, res) => res.end(answer(req)));
    const h2App = http2.createServer((req, res) => res.end(answer(req)));
    const echoApp = net.createServer((socket) => socket.pipe(socket));
    const ports = {
      h1: await listen(h1App),
      h2: await listen(h2App as unknown as net.Server),
      echo: await listen(echoApp),
      inbound: await freePort(),
      echoListener: await freePort(),
    };
    stop.push(
      () => h1App.close(),
      () => h2App.close(),
      () => echoApp.close(),
    );
    // Every service is meshed through this proxy's own inbound side.
    const meshed = (port: number) => [
      { address: '127.0.0.1', port, tlsIdentity: identity, opaqueTransportPort: ports.inbound },
    ];
    writeFileSync(
      join(dir, 'proxy.json'),
      JSON.stringify({
        endpoints: {
          [`h1.shop.svc.cluster.local:${ports.h1}`]: meshed(ports.h1),
          [`h2.shop.svc.cluster.local:${ports.h2}`]: meshed(ports.h2),
          [`echo.shop.svc.cluster.local:${ports.echo}`]: meshed(ports.echo),
        },
        outbound: {
          listeners: [{ port: ports.echoListener, target: `echo.shop.svc.cluster.local:${ports.echo}` }],
        },
      }),
    );
    const proxy = await startProxy(
      entry,
      {
        STRAIT_PROXY_CONFIG: join(dir, 'proxy.json'),
        STRAIT_PROXY_INBOUND_ADDR: `127.0.0.1:${ports.inbound}`,
        STRAIT_PROXY_OUTBOUND_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_ADMIN_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_TAP_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_IDENTITY_CERT_FILE: join(dir, 'cert.pem'),
        STRAIT_PROXY_IDENTITY_KEY_FILE: join(dir, 'key.pem'),
        STRAIT_PROXY_TRUST_BUNDLE_FILE: join(dir, 'bundle.pem'),
      },
      join(dir, 'reporter.mjs'),
    );
    stop.push(() => proxy.child.kill('SIGKILL'));

    assert.deepEqual(await proxy.loaded(), { http2: false, http: false }, 'loaded at start');
    const h1 = await viaProxy(proxy.outbound, `http://h1.shop.svc.cluster.local:${ports.h1}/h1`);
    assert.equal(h1.status, 200);
    assert.equal(h1.body, `/h1 from ${identity}`);
    assert.equal(await exchange(ports.echoListener, 'opaque bytes\n'), 'opaque bytes\n');
    const metrics = await exchange(
      proxy.admin,
      'GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n',
    );
    assert.match(metrics, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(metrics, /request_total\{direction="outbound"/);
    assert.deepEqual(
      await proxy.loaded(),
      { http2: false, http: false },
      'loaded by HTTP/1.1, opaque or admin traffic',
    );

    const h2 = await h2cRequest(proxy.outbound, `h2.shop.svc.cluster.local:${ports.h2}`);
    assert.deepEqual(h2, { status: 200, body: `/h2 from ${identity}` });
    assert.equal((await proxy.loaded()).http2, true, 'node:http2 not loaded by an HTTP/2 request');
  });
});

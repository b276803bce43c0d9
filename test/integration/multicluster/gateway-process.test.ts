import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectMeshed } from '../../../src/proxy/transport/connect.ts';
import { encodeTransportHeader } from '../../../src/proxy/transport/header.ts';
import { freePort } from '../../fixtures/ports.ts';
import { eventually } from './fixtures.ts';
import {
  BACKEND,
  CLIENT,
  connectWithoutCertificate,
  credentialsFor,
  east,
  exchange,
  GATEWAY,
  startBackend,
  west,
  writeIdentityFiles,
} from './mesh-fixtures.ts';

const node = process.execPath;
const children: ChildProcess[] = [];

async function waitForLine(child: ChildProcess, text: string): Promise<void> {
  let seen = '';
  for await (const chunk of child.stdout as NodeJS.ReadableStream) {
    seen += chunk;
    if (seen.includes(text)) return;
  }
  throw new Error(`process ended before printing "${text}"`);
}

describe('gateway process behind a TCP load balancer (HAProxy)', () => {
  let backend: { port: number; close: () => void };
  let haproxyPort: number;
  let adminPort: number;

  let dir: string;

  before(async () => {
    backend = await startBackend();
    dir = mkdtempSync(join(tmpdir(), 'strait-gateway-'));
    const identity = writeIdentityFiles(dir, GATEWAY, east);
    const gatewayPort = await freePort();
    adminPort = await freePort();
    writeFileSync(
      join(dir, 'gateway.json'),
      JSON.stringify({
        logLevel: 'error',
        identity,
        inbound: { host: '127.0.0.1', port: gatewayPort },
        admin: { host: '127.0.0.1', port: adminPort },
        endpoints: {
          'backend.shop.svc.east.local:8080': [
            { address: '127.0.0.1', port: 8080, tlsIdentity: BACKEND, opaqueTransportPort: backend.port },
          ],
        },
      }),
    );
    const gateway = spawn(node, ['src/cmd/gateway.ts'], {
      env: {
        ...process.env,
        STRAIT_PROXY_CONFIG: join(dir, 'gateway.json'),
        STRAIT_GATEWAY_CLUSTER_DOMAIN: 'east.local',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(gateway);
    await waitForLine(gateway, 'ready');

    haproxyPort = await freePort();
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      [
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 30s',
        '  timeout server 30s',
        'frontend gateway',
        `  bind 127.0.0.1:${haproxyPort}`,
        '  default_backend gateways',
        'backend gateways',
        `  server east 127.0.0.1:${gatewayPort}`,
        '',
      ].join('\n'),
    );
    const haproxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    children.push(haproxy);
    await eventually(
      () =>
        new Promise<void>((resolve, reject) => {
          const probe = net.connect(haproxyPort, '127.0.0.1', () => {
            probe.destroy();
            resolve();
          });
          probe.once('error', reject);
        }),
    );
  });

  after(async () => {
    backend.close();
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps mTLS end to end through TCP passthrough and carries the caller identity', async () => {
    const socket = await connectMeshed({
      host: '127.0.0.1',
      port: haproxyPort,
      identity: GATEWAY,
      credentials: credentialsFor(CLIENT, west),
      header: encodeTransportHeader({ name: 'backend.shop.svc.east.local', port: 8080, protocol: 'opaque' }),
      connectTimeoutMs: 5000,
    });
    // The certificate seen through the load balancer is the gateway's own.
    assert.match(
      socket.getPeerCertificate().subjectaltname ?? '',
      new RegExp(GATEWAY.replaceAll('.', '\\.')),
    );
    assert.equal(await exchange(socket, 'through'), `peer=${GATEWAY} client=${CLIENT} port=8080 got=through`);
  });

  it('refuses a client without a certificate through the load balancer', async () => {
    assert.equal(await exchange(connectWithoutCertificate(haproxyPort), 'hello'), '');
  });

  it('answers the probe on its admin port', async () => {
    const response = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    assert.equal(response.status, 200);
  });
});

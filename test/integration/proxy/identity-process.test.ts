import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import tls from 'node:tls';
import { issueWorkloadCertificate } from '../../../src/pki/index.ts';
import { TRANSPORT_ALPN } from '../../../src/proxy/transport/header.ts';
import { freePort } from '../../fixtures/ports.ts';
import { startIdentityServiceProcess, writeIdentityServiceFiles } from '../identity/service-files.ts';
import { listen, waitFor } from './helpers.ts';

const proxyEntry = new URL('../../../src/cmd/proxy.ts', import.meta.url).pathname;
const identity = 'web.shop.serviceaccount.identity.strait.cluster.local';

const dir = mkdtempSync(join(tmpdir(), 'strait-proxy-identity-process-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('the proxy process in identity-service mode', () => {
  it('waits for an identity service that starts after it, then serves mTLS with the issued certificate', async () => {
    const { anchor, issuer, bundleFile, tokenFile } = writeIdentityServiceFiles(dir, {
      identity,
      namespace: 'shop',
      name: 'web-1',
    });
    const app = http.createServer((_req, res) => res.end('hello'));
    const appPort = await listen(app);
    const servicePort = await freePort();

    const proxy = spawn(process.execPath, [proxyEntry], {
      env: {
        ...process.env,
        STRAIT_PROXY_INBOUND_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_OUTBOUND_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_ADMIN_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_TAP_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_APP_PORT: String(appPort),
        STRAIT_PROXY_IDENTITY_ADDR: `127.0.0.1:${servicePort}`,
        STRAIT_PROXY_IDENTITY_SERVER_NAME:
          'strait-identity.strait.serviceaccount.identity.strait.cluster.local',
        STRAIT_PROXY_IDENTITY: identity,
        STRAIT_PROXY_TOKEN_FILE: tokenFile,
        STRAIT_PROXY_TRUST_BUNDLE_FILE: bundleFile,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(proxy);
    let stderr = '';
    proxy.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    let exitCode: number | null | undefined;
    proxy.once('exit', (code) => {
      exitCode = code;
    });
    try {
      await waitFor(
        () => stderr.includes('identity request failed; retrying') || exitCode !== undefined,
        60_000,
      );
      assert.equal(exitCode, undefined, `the proxy exited while the service was down: ${stderr}`);

      const service = await startIdentityServiceProcess(dir, servicePort, 60_000);
      children.push(service.child);
      assert.equal(service.identity, 'strait-identity.strait.serviceaccount.identity.strait.cluster.local');
      await waitFor(() => stderr.includes('"proxy started"') || exitCode !== undefined, 60_000);
      assert.equal(exitCode, undefined, `the proxy exited: ${stderr}`);
      const started = JSON.parse(
        stderr.split('\n').find((line) => line.includes('"proxy started"')) as string,
      ) as Record<string, string>;
      const inbound = Number(started.inbound?.slice(started.inbound.lastIndexOf(':') + 1));

      // The inbound side presents the issued certificate: check it from a TLS client.
      const caller = issueWorkloadCertificate({
        issuer,
        identity: 'frontend.shop.serviceaccount.identity.strait.cluster.local',
      });
      const socket = tls.connect({
        host: '127.0.0.1',
        port: inbound,
        ca: anchor.certPem,
        cert: caller.chainPem,
        key: caller.keyPem,
        servername: identity,
        ALPNProtocols: [TRANSPORT_ALPN],
        checkServerIdentity: () => undefined,
      });
      await once(socket, 'secureConnect');
      const peer = socket.getPeerCertificate();
      socket.destroy();
      assert.match(peer.subjectaltname ?? '', new RegExp(identity.replaceAll('.', '\\.')));
    } finally {
      proxy.kill('SIGTERM');
      app.close();
    }
  });
});

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import tls from 'node:tls';
import { issueWorkloadCertificate } from '../../../src/pki/index.ts';
import { TRANSPORT_ALPN } from '../../../src/proxy/transport/header.ts';
import { freePort } from '../../fixtures/ports.ts';
import { startIdentityServiceProcess, writeIdentityServiceFiles } from '../identity/service-files.ts';
import { waitFor } from '../proxy/helpers.ts';

const gatewayEntry = new URL('../../../src/cmd/gateway.ts', import.meta.url).pathname;
const gatewayIdentity = 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local';

const dir = mkdtempSync(join(tmpdir(), 'strait-gateway-identity-service-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('the gateway process with its identity from the identity service (as a Kubernetes pod)', () => {
  it('gets its certificate by CSR and presents it to callers', async () => {
    const { anchor, issuer, bundleFile, tokenFile } = writeIdentityServiceFiles(dir, {
      identity: gatewayIdentity,
      namespace: 'strait-multicluster',
      name: 'strait-gateway',
    });
    const service = await startIdentityServiceProcess(dir, 0, 60_000);
    children.push(service.child);

    const dataPort = await freePort();
    const gateway = spawn(process.execPath, [gatewayEntry], {
      env: {
        ...process.env,
        STRAIT_PROXY_INBOUND_ADDR: `127.0.0.1:${dataPort}`,
        STRAIT_PROXY_OUTBOUND_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_ADMIN_ADDR: `127.0.0.1:${await freePort()}`,
        STRAIT_PROXY_TAP_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_IDENTITY_ADDR: `127.0.0.1:${service.port}`,
        STRAIT_PROXY_IDENTITY_SERVER_NAME:
          'strait-identity.strait.serviceaccount.identity.strait.cluster.local',
        STRAIT_PROXY_IDENTITY: gatewayIdentity,
        STRAIT_PROXY_TOKEN_FILE: tokenFile,
        STRAIT_PROXY_TRUST_BUNDLE_FILE: bundleFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(gateway);
    let output = '';
    gateway.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    gateway.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    let exitCode: number | null | undefined;
    gateway.once('exit', (code) => {
      exitCode = code;
    });
    try {
      await waitFor(() => /^ready$/m.test(output) || exitCode !== undefined, 60_000);
      assert.equal(exitCode, undefined, `the gateway exited: ${output}`);

      const caller = issueWorkloadCertificate({
        issuer,
        identity: 'frontend.shop.serviceaccount.identity.strait.cluster.local',
      });
      const socket = tls.connect({
        host: '127.0.0.1',
        port: dataPort,
        ca: anchor.certPem,
        cert: caller.chainPem,
        key: caller.keyPem,
        servername: gatewayIdentity,
        ALPNProtocols: [TRANSPORT_ALPN],
        checkServerIdentity: () => undefined,
      });
      await once(socket, 'secureConnect');
      const peer = socket.getPeerCertificate();
      socket.destroy();
      assert.equal(peer.subjectaltname, `DNS:${gatewayIdentity}`);
      assert.ok(Date.parse(peer.valid_to) - Date.now() <= 60_000 + 30_000, 'a short-lived issued leaf');
    } finally {
      gateway.kill('SIGTERM');
    }
  });
});

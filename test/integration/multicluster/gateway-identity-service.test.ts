import assert from 'node:assert/strict';
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import tls from 'node:tls';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../../../src/pki/index.ts';
import { createWorkloadTokenKeys, WorkloadTokenIssuer } from '../../../src/platform/local/workload-token.ts';
import { TRANSPORT_ALPN } from '../../../src/proxy/transport/header.ts';
import { listen, waitFor } from '../proxy/helpers.ts';

const gatewayEntry = new URL('../../../src/cmd/gateway.ts', import.meta.url).pathname;
const serviceEntry = new URL('../identity/service-process.ts', import.meta.url).pathname;
const gatewayIdentity = 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local';

const dir = mkdtempSync(join(tmpdir(), 'strait-gateway-identity-service-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the gateway process with its identity from the identity service (as a Kubernetes pod)', () => {
  it('gets its certificate by CSR and presents it to callers', async () => {
    const anchor = createAnchor();
    const issuer = createIssuer({ anchor });
    const keys = createWorkloadTokenKeys();
    writeFileSync(join(dir, 'ca.crt'), anchor.certPem);
    writeFileSync(join(dir, 'issuer.crt'), issuer.certPem);
    writeFileSync(join(dir, 'issuer.key'), issuer.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'token.pub'), keys.publicKeyPem);
    const tokens = new WorkloadTokenIssuer(keys.privateKeyPem);
    writeFileSync(
      join(dir, 'token'),
      tokens.issue({
        identity: gatewayIdentity,
        namespace: 'strait-multicluster',
        workload: 'strait-gateway',
      }),
    );
    const configPath = join(dir, 'service.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        issuerCert: join(dir, 'issuer.crt'),
        issuerKey: join(dir, 'issuer.key'),
        bundle: join(dir, 'ca.crt'),
        tokenPublicKey: join(dir, 'token.pub'),
        port: 0,
        leafValidityMs: 60_000,
      }),
    );
    const service = fork(serviceEntry, [configPath], { stdio: 'inherit' });
    children.push(service);
    const [started] = (await once(service, 'message')) as [{ port: number }];

    const dataPort = await freePort();
    const gateway = spawn(process.execPath, [gatewayEntry], {
      env: {
        ...process.env,
        STRAIT_PROXY_INBOUND_ADDR: `127.0.0.1:${dataPort}`,
        STRAIT_PROXY_OUTBOUND_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_ADMIN_ADDR: `127.0.0.1:${await freePort()}`,
        STRAIT_PROXY_TAP_ADDR: '127.0.0.1:0',
        STRAIT_PROXY_IDENTITY_ADDR: `127.0.0.1:${started.port}`,
        STRAIT_PROXY_IDENTITY_SERVER_NAME:
          'strait-identity.strait.serviceaccount.identity.strait.cluster.local',
        STRAIT_PROXY_IDENTITY: gatewayIdentity,
        STRAIT_PROXY_TOKEN_FILE: join(dir, 'token'),
        STRAIT_PROXY_TRUST_BUNDLE_FILE: join(dir, 'ca.crt'),
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

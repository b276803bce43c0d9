import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAnchor, createIssuer, verifyChain } from '../../../src/pki/index.ts';
import { createWorkloadTokenKeys, WorkloadTokenIssuer } from '../../../src/platform/local/workload-token.ts';
import {
  IdentityClient,
  tokenFromFile,
  type WorkloadCredentials,
} from '../../../src/proxy/identity/index.ts';
import { webIdentity } from './service-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'strait-identity-restart-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startServiceProcess(
  port: number,
): Promise<{ child: ChildProcess; port: number; identity: string }> {
  const configPath = join(dir, `config-${port}.json`);
  writeFileSync(
    configPath,
    JSON.stringify({
      issuerCert: join(dir, 'issuer.crt'),
      issuerKey: join(dir, 'issuer.key'),
      bundle: join(dir, 'ca.crt'),
      tokenPublicKey: join(dir, 'token.pub'),
      port,
      leafValidityMs: 2_000,
    }),
  );
  const child = fork(new URL('./service-process.ts', import.meta.url).pathname, [configPath], {
    stdio: 'inherit',
  });
  children.push(child);
  const [message] = (await once(child, 'message')) as [{ port: number; identity: string }];
  return { child, ...message };
}

describe('identity service in its own process', () => {
  it('a client keeps its certificate while the service is down and renews once it is back', async () => {
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
      tokens.issue({ identity: webIdentity, namespace: 'shop', workload: 'web-1' }),
    );

    const first = await startServiceProcess(0);
    const client = new IdentityClient({
      address: `127.0.0.1:${first.port}`,
      serverIdentity: first.identity,
      trustBundlePem: anchor.certPem,
      identity: webIdentity,
      token: tokenFromFile(join(dir, 'token')),
      refreshFraction: 0.05,
      minRefreshMs: 200,
      backoffInitialMs: 50,
      backoffMaxMs: 300,
    });
    try {
      const initial = await client.start();

      const sawOutage = new Promise<void>((resolve) => {
        const stop = client.onError((error) => {
          if ((error as Error & { code?: string }).code === 'E_IDENTITY_UNAVAILABLE') {
            stop();
            resolve();
          }
        });
      });
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
      await sawOutage;
      const duringOutage = client.current;
      assert.ok(duringOutage, 'the client keeps the credentials it has');

      // The token rotates on disk while the service is down; the client reads the new one.
      writeFileSync(
        join(dir, 'token'),
        tokens.issue({ identity: webIdentity, namespace: 'shop', workload: 'web-1' }),
      );
      const renewed = new Promise<WorkloadCredentials>((resolve) => {
        const stop = client.onCredentials((credentials) => {
          stop();
          resolve(credentials);
        });
      });
      await startServiceProcess(first.port);
      const next = await renewed;
      assert.notEqual(next.certPem, initial.certPem);
      verifyChain(next.certPem, next.chainPem, anchor.certPem, { expectedIdentity: webIdentity });
    } finally {
      client.close();
    }
  });
});

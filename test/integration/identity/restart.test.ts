import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { verifyChain } from '../../../src/pki/index.ts';
import {
  IdentityClient,
  tokenFromFile,
  type WorkloadCredentials,
} from '../../../src/proxy/identity/index.ts';
import { startIdentityServiceProcess, writeIdentityServiceFiles } from './service-files.ts';
import { webIdentity } from './service-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'strait-identity-restart-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startServiceProcess(port: number) {
  const started = await startIdentityServiceProcess(dir, port, 2_000);
  children.push(started.child);
  return started;
}

describe('identity service in its own process', () => {
  it('a client keeps its certificate while the service is down and renews once it is back', async () => {
    const { anchor, tokenFile, rotateToken } = writeIdentityServiceFiles(dir, {
      identity: webIdentity,
      namespace: 'shop',
      name: 'web-1',
    });

    const first = await startServiceProcess(0);
    const client = new IdentityClient({
      address: `127.0.0.1:${first.port}`,
      serverIdentity: first.identity,
      trustBundlePem: anchor.certPem,
      identity: webIdentity,
      token: tokenFromFile(tokenFile),
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
      rotateToken();
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

import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CaPem } from '../../../pki/index.ts';
import { ControlPlaneConfigError } from './config.ts';
import { readIssuerDir, watchIssuerDir } from './issuer-dir.ts';

const PKI = fileURLToPath(new URL('../../../../testdata/manifests/pki/', import.meta.url));

describe('issuer directory', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-issuer-dir-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads tls.crt and tls.key and names them as sources', async () => {
    const issuerDir = join(dir, 'read');
    await mkdir(issuerDir);
    await copyFile(join(PKI, 'issuer.crt'), join(issuerDir, 'tls.crt'));
    await copyFile(join(PKI, 'issuer.key'), join(issuerDir, 'tls.key'));
    const issuer = await readIssuerDir(issuerDir);
    assert.match(issuer.certPem, /BEGIN CERTIFICATE/);
    assert.match(issuer.keyPem, /PRIVATE KEY/);
    assert.equal(issuer.certSource, join(issuerDir, 'tls.crt'));
  });

  it('names the missing file', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await assert.rejects(
      readIssuerDir(empty),
      (error: unknown) =>
        error instanceof ControlPlaneConfigError &&
        /tls\.(crt|key): cannot read it \(ENOENT\)/.test(error.message),
    );
  });

  it('reports a Secret update made by swapping the ..data symlink, as the kubelet does', async () => {
    const secret = join(dir, 'secret');
    await mkdir(join(secret, 'v1'), { recursive: true });
    await writeFile(join(secret, 'v1', 'tls.crt'), 'cert one');
    await writeFile(join(secret, 'v1', 'tls.key'), 'key one');
    await symlink('v1', join(secret, '..data'));
    await symlink('..data/tls.crt', join(secret, 'tls.crt'));
    await symlink('..data/tls.key', join(secret, 'tls.key'));
    const first = await readIssuerDir(secret);
    const seen: CaPem[] = [];
    const errors: unknown[] = [];
    const changed = new Promise<void>((resolve) => {
      const watch = watchIssuerDir(
        secret,
        first,
        (issuer) => {
          seen.push(issuer);
          watch.stop();
          resolve();
        },
        { intervalMs: 50, onError: (error) => errors.push(error) },
      );
    });
    await mkdir(join(secret, 'v2'));
    await writeFile(join(secret, 'v2', 'tls.crt'), 'cert two');
    await writeFile(join(secret, 'v2', 'tls.key'), 'key two');
    await unlink(join(secret, '..data'));
    await symlink('v2', join(secret, '..data'));
    await changed;
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.certPem, 'cert two');
    assert.equal(seen[0]?.keyPem, 'key two');
  });
});

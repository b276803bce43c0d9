import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAnchor, createIssuer } from '../../pki/index.ts';
import { clusterFiles } from './cluster-config.ts';
import { createCluster } from './create-cluster.ts';
import { clusterDirectory } from './home.ts';

describe('createCluster()', () => {
  const home = mkdtempSync(join(tmpdir(), 'strait-create-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const anchor = createAnchor();
  const pem = (text: string, source: string) => ({ pem: text, source });

  it('takes a given issuer that chains to the given anchor, and keeps secrets private', async () => {
    const issuer = createIssuer({ anchor });
    const { config, created } = await createCluster({
      home,
      name: 'given',
      trustAnchorCert: pem(anchor.certPem, 'anchor.crt'),
      issuerCert: pem(issuer.certPem, 'issuer.crt'),
      issuerKey: pem(issuer.keyPem, 'issuer.key'),
    });
    assert.equal(created, true);
    assert.match(config.cidr, /^127\.\d+\.0\.0\/16$/);
    const files = clusterFiles(clusterDirectory(home, 'given'));
    assert.equal(readFileSync(files.issuerCert, 'utf8'), issuer.certPem);
    assert.equal(readFileSync(files.trustAnchor, 'utf8'), anchor.certPem);
    assert.equal(existsSync(files.trustAnchor.replace(/\.crt$/, '.key')), false);
    for (const secret of [files.issuerKey, files.apiKey, files.tokenKey, files.adminToken]) {
      assert.equal(statSync(secret).mode & 0o077, 0, `${secret} is private`);
    }
    const again = await createCluster({ home, name: 'given' });
    assert.equal(again.created, false);
    assert.equal(again.config.index, config.index);
  });

  it('refuses an issuer of another anchor and writes nothing', async () => {
    const foreign = createIssuer({ anchor: createAnchor() });
    await assert.rejects(
      createCluster({
        home,
        name: 'foreign',
        trustAnchorCert: pem(anchor.certPem, 'anchor.crt'),
        issuerCert: pem(foreign.certPem, 'issuer.crt'),
        issuerKey: pem(foreign.keyPem, 'issuer.key'),
      }),
      { code: 'E_CHAIN_INVALID', message: /issuer\.crt is not signed by any anchor in anchor\.crt/ },
    );
    assert.equal(existsSync(clusterDirectory(home, 'foreign')), false);
  });

  it('refuses a key that does not belong to the issuer, and bad names', async () => {
    const issuer = createIssuer({ anchor });
    await assert.rejects(
      createCluster({
        home,
        name: 'mismatch',
        trustAnchorCert: pem(anchor.certPem, 'anchor.crt'),
        issuerCert: pem(issuer.certPem, 'issuer.crt'),
        issuerKey: pem(createIssuer({ anchor }).keyPem, 'other.key'),
      }),
      { code: 'E_KEY_MISMATCH' },
    );
    await assert.rejects(createCluster({ home, name: 'Not_A_Name' }), { code: 'E_CLUSTER_NAME' });
  });
});

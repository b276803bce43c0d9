import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CLOCK_SKEW_ALLOWANCE_MS,
  createAnchor,
  createIssuer,
  DEFAULT_LEAF_VALIDITY_MS,
  generateKeyPair,
  issueWorkloadCertificate,
  loadCertificate,
  loadCertificates,
  loadSigner,
  signLeaf,
} from './index.ts';

const HOUR = 3_600_000;
const identity = 'web.shop.serviceaccount.identity.strait.cluster.local';

describe('issueWorkloadCertificate()', () => {
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor });

  it('issues a 24h leaf whose only name is the identity', () => {
    const now = new Date();
    const issued = issueWorkloadCertificate({ issuer, identity, now });
    const leaf = loadCertificate(issued.certPem, 'leaf.crt');
    assert.deepEqual(leaf.dnsNames, [identity]);
    assert.deepEqual(leaf.otherNames, []);
    assert.equal(leaf.subject, '');
    assert.equal(leaf.isCa, false);
    assert.deepEqual(leaf.extendedKeyUsage, ['serverAuth', 'clientAuth']);
    assert.deepEqual(leaf.keyUsage, ['digitalSignature']);
    assert.equal(leaf.keyType, 'ECDSA P-256');
    const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
    assert.ok(Math.abs(lifetime - (DEFAULT_LEAF_VALIDITY_MS + 2 * CLOCK_SKEW_ALLOWANCE_MS)) <= 1000);
    assert.ok(leaf.notBefore.getTime() <= now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
    assert.equal(leaf.notAfter.getTime(), issued.notAfter.getTime());
  });

  it('returns the chain a TLS peer presents: leaf then issuer', () => {
    const issued = issueWorkloadCertificate({ issuer, identity });
    const chain = loadCertificates(issued.chainPem, 'chain');
    assert.equal(chain.length, 2);
    assert.equal(chain[1]?.subject, 'CN=identity.strait.cluster.local');
    assert.equal(loadCertificates(issued.intermediatesPem, 'intermediates').length, 1);
  });

  it('caps the lifetime at the issuer expiry', () => {
    const shortIssuer = createIssuer({ anchor, validForMs: HOUR });
    const issued = issueWorkloadCertificate({ issuer: shortIssuer, identity });
    assert.ok(issued.notAfter <= loadCertificate(shortIssuer.certPem, 'issuer.crt').notAfter);
  });

  it('refuses names that are not workload identities', () => {
    assert.throws(() => issueWorkloadCertificate({ issuer, identity: 'web.shop' }), {
      code: 'E_IDENTITY_NAME',
    });
  });

  it('signLeaf() stops signing once a loaded issuer has expired', () => {
    const signer = loadSigner(createIssuer({ anchor, validForMs: HOUR }), 'issuer');
    const spki = new Uint8Array(generateKeyPair().publicKey.export({ type: 'spki', format: 'der' }));
    assert.ok(signLeaf(signer, { subjectPublicKeyInfo: spki, identity }).der.length > 0);
    assert.throws(
      () => signLeaf(signer, { subjectPublicKeyInfo: spki, identity, now: new Date(Date.now() + 2 * HOUR) }),
      {
        code: 'E_CERT_EXPIRED',
      },
    );
  });

  it('refuses an expired issuer', () => {
    assert.throws(
      () => issueWorkloadCertificate({ issuer, identity, now: new Date(Date.now() + 2 * 8760 * HOUR) }),
      {
        code: 'E_CERT_EXPIRED',
      },
    );
  });
});

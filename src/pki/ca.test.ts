import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createAnchor,
  createIssuer,
  issueWorkloadCertificate,
  loadCertificate,
  verifyChain,
} from './index.ts';

const HOUR = 3_600_000;
const identity = 'web.shop.serviceaccount.identity.strait.cluster.local';

describe('createAnchor()', () => {
  it('makes a self-signed ECDSA P-256 CA with path length 1 and the default name', () => {
    const anchor = createAnchor();
    const cert = loadCertificate(anchor.certPem, 'ca.crt');
    assert.equal(cert.subject, 'CN=root.strait.cluster.local');
    assert.ok(cert.selfSigned);
    assert.ok(cert.isCa);
    assert.equal(cert.pathLength, 1);
    assert.equal(cert.keyType, 'ECDSA P-256');
    assert.deepEqual(cert.keyUsage, ['keyCertSign', 'cRLSign']);
    assert.ok(cert.subjectKeyId);
    const years = (cert.notAfter.getTime() - cert.notBefore.getTime()) / (8760 * HOUR);
    assert.ok(years > 9.99 && years < 10.01, `about 10 years, got ${years}`);
    assert.match(anchor.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  });

  it('takes a name and a lifetime', () => {
    const cert = loadCertificate(
      createAnchor({ name: 'root.example', validForMs: 2 * HOUR }).certPem,
      'ca.crt',
    );
    assert.equal(cert.subject, 'CN=root.example');
    assert.ok(cert.notAfter.getTime() - Date.now() <= 2 * HOUR + 1000);
  });
});

describe('createIssuer()', () => {
  it('makes an intermediate CA with path length 0 that chains to the anchor', () => {
    const anchor = createAnchor();
    const issuer = createIssuer({ anchor, name: 'identity.west' });
    const cert = loadCertificate(issuer.certPem, 'issuer.crt');
    const anchorCert = loadCertificate(anchor.certPem, 'ca.crt');
    assert.equal(cert.subject, 'CN=identity.west');
    assert.equal(cert.issuer, 'CN=root.strait.cluster.local');
    assert.equal(cert.pathLength, 0);
    assert.equal(cert.authorityKeyId, anchorCert.subjectKeyId);
    assert.equal(verifyChain(cert, [], anchor.certPem).anchor.fingerprint, anchorCert.fingerprint);
  });

  it('never outlives the anchor', () => {
    const anchor = createAnchor({ validForMs: 5 * HOUR });
    const cert = loadCertificate(createIssuer({ anchor }).certPem, 'issuer.crt');
    assert.ok(cert.notAfter <= loadCertificate(anchor.certPem, 'ca.crt').notAfter);
  });

  it('refuses an anchor key that does not match', () => {
    const anchor = createAnchor();
    const other = createAnchor();
    assert.throws(
      () => createIssuer({ anchor: { certPem: anchor.certPem, keyPem: other.keyPem, keySource: 'ca.key' } }),
      (error: Error & { code?: string }) => error.code === 'E_KEY_MISMATCH' && /ca\.key/.test(error.message),
    );
  });

  it('refuses an anchor that is not a CA', () => {
    const anchor = createAnchor();
    const leaf = issueWorkloadCertificate({ issuer: createIssuer({ anchor }), identity });
    assert.throws(
      () => createIssuer({ anchor: { certPem: leaf.certPem, keyPem: leaf.keyPem, certSource: 'leaf.crt' } }),
      (error: Error & { code?: string }) => error.code === 'E_CERT_NOT_CA' && /leaf\.crt/.test(error.message),
    );
  });

  it('refuses an expired or not yet valid anchor', () => {
    const expired = createAnchor({ notBefore: new Date(Date.now() - 10 * HOUR), validForMs: HOUR });
    assert.throws(() => createIssuer({ anchor: expired }), { code: 'E_CERT_EXPIRED' });
    const future = createAnchor({ notBefore: new Date(Date.now() + 10 * HOUR) });
    assert.throws(() => createIssuer({ anchor: future }), { code: 'E_CERT_NOT_YET_VALID' });
  });
});

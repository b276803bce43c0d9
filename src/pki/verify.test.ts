import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildBundle,
  createAnchor,
  createIssuer,
  issueWorkloadCertificate,
  loadCertificate,
  verifyChain,
} from './index.ts';

const HOUR = 3_600_000;
const identity = 'web.shop.serviceaccount.identity.strait.cluster.local';

describe('verifyChain()', () => {
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor });
  const leaf = issueWorkloadCertificate({ issuer, identity });

  it('accepts a leaf that chains through its issuer to the anchor', () => {
    const result = verifyChain(leaf.certPem, leaf.intermediatesPem, anchor.certPem, {
      expectedIdentity: identity,
    });
    assert.equal(result.identity, identity);
    assert.equal(result.path.length, 3);
    assert.equal(result.anchor.subject, 'CN=root.strait.cluster.local');
  });

  it('accepts the full chain passed as intermediates', () => {
    assert.equal(verifyChain(leaf.certPem, leaf.chainPem, anchor.certPem).path.length, 3);
  });

  it('refuses a leaf from another anchor', () => {
    const other = createAnchor();
    assert.throws(() => verifyChain(leaf.certPem, leaf.intermediatesPem, other.certPem), {
      code: 'E_CHAIN_INVALID',
    });
  });

  it('refuses a leaf whose issuer is missing', () => {
    assert.throws(() => verifyChain(leaf.certPem, '', anchor.certPem), { code: 'E_CHAIN_INVALID' });
  });

  it('refuses an issuer signed by another anchor with the same name', () => {
    const impostor = createAnchor();
    const forged = createIssuer({ anchor: impostor });
    const forgedLeaf = issueWorkloadCertificate({ issuer: forged, identity });
    assert.throws(() => verifyChain(forgedLeaf.certPem, forgedLeaf.intermediatesPem, anchor.certPem), {
      code: 'E_CHAIN_INVALID',
    });
  });

  it('refuses the wrong identity', () => {
    assert.throws(
      () =>
        verifyChain(leaf.certPem, leaf.intermediatesPem, anchor.certPem, {
          expectedIdentity: 'db.shop.serviceaccount.identity.strait.cluster.local',
        }),
      { code: 'E_IDENTITY_MISMATCH' },
    );
  });

  it('checks time validity of the leaf and of every CA', () => {
    const later = new Date(Date.now() + 25 * HOUR);
    assert.throws(() => verifyChain(leaf.certPem, leaf.intermediatesPem, anchor.certPem, { now: later }), {
      code: 'E_CERT_EXPIRED',
    });
    const earlier = new Date(Date.now() - HOUR);
    assert.throws(() => verifyChain(leaf.certPem, leaf.intermediatesPem, anchor.certPem, { now: earlier }), {
      code: 'E_CERT_NOT_YET_VALID',
    });
    const shortIssuer = createIssuer({
      anchor,
      notBefore: new Date(Date.now() - 10 * HOUR),
      validForMs: 11 * HOUR,
    });
    const late = issueWorkloadCertificate({ issuer: shortIssuer, identity });
    const afterIssuer = new Date(Date.now() + 1.5 * HOUR);
    assert.ok(late.notAfter < afterIssuer);
    assert.throws(
      () => verifyChain(late.certPem, late.intermediatesPem, anchor.certPem, { now: afterIssuer }),
      {
        code: 'E_CERT_EXPIRED',
      },
    );
  });

  it('enforces the anchor path length', () => {
    // anchor (pathLen 1) -> issuer (pathLen 0) cannot sign a CA, so a third level is refused.
    const nested = createIssuer({ anchor: issuer });
    const deep = issueWorkloadCertificate({ issuer: nested, identity });
    assert.throws(() => verifyChain(deep.certPem, deep.intermediatesPem + issuer.certPem, anchor.certPem), {
      code: 'E_CHAIN_INVALID',
    });
  });

  it('refuses a chain through a critical extension it does not process (name constraints)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strait-nc-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-new',
          '-nodes',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-keyout',
          join(dir, 'ca.key'),
          '-out',
          join(dir, 'ca.crt'),
          '-days',
          '2',
          '-subj',
          '/CN=constrained root',
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign',
          '-addext',
          'nameConstraints=critical,permitted;DNS:.cluster.local',
        ],
        { stdio: 'pipe' },
      );
      const constrained = {
        certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
        keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
      };
      const constrainedLeaf = issueWorkloadCertificate({
        issuer: createIssuer({ anchor: constrained }),
        identity,
      });
      assert.throws(
        () => verifyChain(constrainedLeaf.certPem, constrainedLeaf.intermediatesPem, constrained.certPem),
        (error: Error & { code?: string }) =>
          error.code === 'E_CHAIN_INVALID' && error.message.includes('2.5.29.30'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts leaves from both anchors of a rotation bundle', () => {
    const next = createAnchor({ name: 'root-2026.strait.cluster.local' });
    const nextLeaf = issueWorkloadCertificate({ issuer: createIssuer({ anchor: next }), identity });
    const bundle = buildBundle([
      { pem: anchor.certPem, source: 'old.crt' },
      { pem: next.certPem, source: 'new.crt' },
    ]);
    assert.equal(
      verifyChain(leaf.certPem, leaf.intermediatesPem, bundle.certificates).anchor.subject,
      'CN=root.strait.cluster.local',
    );
    assert.equal(
      verifyChain(nextLeaf.certPem, nextLeaf.intermediatesPem, bundle.pem).anchor.subject,
      'CN=root-2026.strait.cluster.local',
    );
  });
});

describe('buildBundle()', () => {
  it('drops duplicates and refuses non-CA certificates', () => {
    const anchor = createAnchor();
    const bundle = buildBundle([
      { pem: anchor.certPem, source: 'a.crt' },
      { pem: anchor.certPem, source: 'b.crt' },
    ]);
    assert.equal(bundle.certificates.length, 1);
    assert.equal(bundle.duplicates, 1);
    const leaf = issueWorkloadCertificate({ issuer: createIssuer({ anchor }), identity });
    assert.throws(
      () => buildBundle([{ pem: leaf.certPem, source: 'leaf.crt' }]),
      (error: Error & { code?: string }) => {
        return error.code === 'E_CERT_NOT_CA' && error.message.startsWith('leaf.crt');
      },
    );
  });
});

describe('loadCertificate()', () => {
  it('names the file when the input is not a certificate', () => {
    assert.throws(
      () => loadCertificate('not pem at all', 'x.crt'),
      (error: Error & { code?: string }) => {
        return error.code === 'E_PEM_INVALID' && error.message.startsWith('x.crt');
      },
    );
    assert.throws(
      () => loadCertificate('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n', 'x.crt'),
      {
        code: 'E_PEM_INVALID',
      },
    );
    assert.throws(
      () => loadCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'x.crt'),
      {
        code: 'E_CERT_INVALID',
      },
    );
    assert.throws(() => loadCertificate(createAnchor().keyPem, 'x.crt'), { code: 'E_CERT_INVALID' });
  });
});

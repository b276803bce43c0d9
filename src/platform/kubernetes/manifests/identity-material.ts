import {
  type Certificate,
  chainExpiry,
  loadBundle,
  loadSigner,
  PkiError,
  verifyChain,
} from '../../../pki/index.ts';

/** PEM text and where it came from (a file path), for messages. */
export interface PemInput {
  pem: string;
  source: string;
}

/** A checked trust bundle and issuer, ready to go into the install. */
export interface InstallIdentity {
  trustAnchorsPem: string;
  issuer: { certPem: string; keyPem: string };
  anchors: Certificate[];
  issuerCertificate: Certificate;
  /** When the issuer's chain stops being usable. */
  issuerExpiry: Date;
}

/**
 * Checks what `strait install` and `strait upgrade` are given: the anchors
 * parse, the issuer is a CA valid now whose key matches, and it chains to
 * one of the anchors. Throws a PkiError naming the file at fault.
 */
export function checkInstallIdentity(
  anchors: PemInput,
  issuerCert: PemInput,
  issuerKey: PemInput,
  now = new Date(),
): InstallIdentity {
  const anchorCertificates = loadBundle(anchors.pem, anchors.source);
  const signer = loadSigner(
    {
      certPem: issuerCert.pem,
      keyPem: issuerKey.pem,
      certSource: issuerCert.source,
      keySource: issuerKey.source,
    },
    'issuer',
    now,
  );
  try {
    verifyChain(signer.certificate, signer.chain.slice(1), anchorCertificates, { now });
  } catch (error) {
    throw new PkiError(
      'E_ISSUER_NOT_CHAINED',
      `${issuerCert.source}: the issuer does not chain to the trust anchors in ${anchors.source}: ${(error as Error).message}`,
      { hint: 'sign the issuer with one of the anchors, or add its anchor to the bundle', cause: error },
    );
  }
  return {
    trustAnchorsPem: `${anchorCertificates.map((c) => c.pem.trim()).join('\n')}\n`,
    issuer: { certPem: `${signer.chain.map((c) => c.pem.trim()).join('\n')}\n`, keyPem: issuerKey.pem },
    anchors: anchorCertificates,
    issuerCertificate: signer.certificate,
    issuerExpiry: chainExpiry(signer.chain),
  };
}

import type { KeyObject } from 'node:crypto';
import { type Certificate, checkValidity, loadCertificates } from './certificate.ts';
import { PkiError } from './errors.ts';
import { loadPrivateKey } from './keys.ts';

/** A CA certificate with its private key, ready to sign. */
export interface Signer {
  /** The signing CA's certificate. */
  readonly certificate: Certificate;
  /** The signing CA's certificate followed by any intermediates above it (never the anchor). */
  readonly chain: Certificate[];
  readonly key: KeyObject;
}

/** PEM text of a CA and where it was read from, for error messages. */
export interface CaPem {
  certPem: string;
  keyPem: string;
  /** Names of the inputs in errors; default "certificate" and "key". */
  certSource?: string;
  keySource?: string;
}

/**
 * Loads and checks a CA that will sign: its key matches, it is a CA allowed to
 * sign certificates, and it is valid at `now`.
 */
export function loadSigner(ca: CaPem, what: string, now = new Date()): Signer {
  const certSource = ca.certSource ?? `${what} certificate`;
  const keySource = ca.keySource ?? `${what} key`;
  const chain = loadCertificates(ca.certPem, certSource).filter(
    (certificate, index) => index === 0 || !certificate.selfSigned,
  );
  const certificate = chain[0] as Certificate;
  const key = loadPrivateKey(ca.keyPem, keySource);
  if (!certificate.x509.checkPrivateKey(key)) {
    throw new PkiError('E_KEY_MISMATCH', `${keySource} does not belong to ${certSource}`, {
      hint: `pass the key made together with the ${what} certificate`,
    });
  }
  checkCanSign(certificate, what);
  checkValidity(certificate, now, `the ${what} certificate`);
  return { certificate, chain, key };
}

/** Throws E_CERT_NOT_CA unless the certificate may sign other certificates. */
export function checkCanSign(certificate: Certificate, what = 'CA'): void {
  if (!certificate.isCa) {
    throw new PkiError(
      'E_CERT_NOT_CA',
      `${certificate.source}: the ${what} certificate is not a CA (basicConstraints CA:FALSE or missing)`,
      {
        hint: 'use a CA certificate, e.g. one made by "strait identity anchor" or "strait identity issuer"',
      },
    );
  }
  if (certificate.keyUsage && !certificate.keyUsage.includes('keyCertSign')) {
    throw new PkiError(
      'E_CERT_NOT_CA',
      `${certificate.source}: the ${what} certificate's key usage lacks keyCertSign`,
    );
  }
}

/** The earliest expiry along a signer's chain: nothing it signs may outlive it. */
export function chainExpiry(chain: Certificate[]): Date {
  return new Date(Math.min(...chain.map((certificate) => certificate.notAfter.getTime())));
}

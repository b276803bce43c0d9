import { type Certificate, loadCertificates } from './certificate.ts';
import { checkCanSign } from './signer.ts';

/** A trust bundle: the anchors a certificate may chain to. */
export interface TrustBundle {
  certificates: Certificate[];
  /** Concatenated PEM of the certificates, in input order. */
  pem: string;
  /** How many duplicate certificates were dropped. */
  duplicates: number;
}

/**
 * Builds a deduplicated trust bundle from PEM inputs (several anchors during a
 * rotation). Every certificate must be a CA; throws E_CERT_NOT_CA naming it otherwise.
 */
export function buildBundle(inputs: { pem: string; source: string }[]): TrustBundle {
  const certificates: Certificate[] = [];
  let duplicates = 0;
  for (const input of inputs) {
    for (const certificate of loadCertificates(input.pem, input.source)) {
      checkCanSign(certificate, 'bundle');
      if (certificates.some((seen) => seen.fingerprint === certificate.fingerprint)) {
        duplicates++;
        continue;
      }
      certificates.push(certificate);
    }
  }
  return { certificates, pem: certificates.map((c) => c.pem).join(''), duplicates };
}

/** Parses a bundle file's anchors, checking each is a CA. */
export function loadBundle(pem: string, source: string): Certificate[] {
  return buildBundle([{ pem, source }]).certificates;
}

import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  distinguishedName,
  keyIdentifier,
  keyUsage,
  spkiOf,
  subjectKeyIdentifier,
} from './build.ts';
import { generateKeyPair, privateKeyPem } from './keys.ts';
import { toPem } from './pem.ts';
import { type CaPem, chainExpiry, loadSigner } from './signer.ts';

/** A certificate and its private key, both PEM. */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export const DEFAULT_ANCHOR_NAME = 'root.strait.cluster.local';
export const DEFAULT_ISSUER_NAME = 'identity.strait.cluster.local';
export const DEFAULT_ANCHOR_VALIDITY_MS = 87_600 * 3_600_000;
export const DEFAULT_ISSUER_VALIDITY_MS = 8_760 * 3_600_000;
/** CA certificates start this long before "now" so that slightly slow clocks accept them. */
const BACKDATE_MS = 20_000;

export interface AnchorOptions {
  /** Common name; default root.strait.cluster.local. */
  name?: string;
  /** Default 87600h (10 years). */
  validForMs?: number;
  /** Start of validity; default now minus 20 s. */
  notBefore?: Date;
}

/** A self-signed ECDSA P-256 root CA (trust anchor), path length 1. */
export function createAnchor(options: AnchorOptions = {}): CertificateAndKey {
  const { privateKey, publicKey } = generateKeyPair();
  const spki = spkiOf(publicKey);
  const name = distinguishedName(options.name ?? DEFAULT_ANCHOR_NAME);
  const notBefore = options.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const der = buildCertificate({
    issuerName: name,
    subjectName: name,
    notBefore,
    notAfter: new Date(
      notBefore.getTime() + BACKDATE_MS + (options.validForMs ?? DEFAULT_ANCHOR_VALIDITY_MS),
    ),
    subjectPublicKeyInfo: spki,
    extensions: [
      basicConstraints(true, 1),
      keyUsage('keyCertSign', 'cRLSign'),
      subjectKeyIdentifier(keyIdentifier(spki)),
    ],
    signingKey: privateKey,
  });
  return { certPem: toPem('CERTIFICATE', der), keyPem: privateKeyPem(privateKey) };
}

export interface IssuerOptions {
  /** The anchor (or another CA) that signs the issuer. */
  anchor: CaPem;
  /** Common name; default identity.strait.cluster.local. */
  name?: string;
  /** Default 8760h (1 year); never beyond the anchor's expiry. */
  validForMs?: number;
  /** Start of validity; default now minus 20 s. */
  notBefore?: Date;
}

/**
 * A per-cluster intermediate CA (ECDSA P-256, path length 0) signed by the
 * anchor. The anchor is checked first: key matches, is a CA, currently valid.
 */
export function createIssuer(options: IssuerOptions): CertificateAndKey {
  const anchor = loadSigner(options.anchor, 'anchor');
  const { privateKey, publicKey } = generateKeyPair();
  const spki = spkiOf(publicKey);
  const notBefore = options.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const requestedEnd = notBefore.getTime() + BACKDATE_MS + (options.validForMs ?? DEFAULT_ISSUER_VALIDITY_MS);
  const extensions = [
    basicConstraints(true, 0),
    keyUsage('keyCertSign', 'cRLSign'),
    subjectKeyIdentifier(keyIdentifier(spki)),
  ];
  const anchorKeyId = anchor.certificate.subjectKeyId;
  if (anchorKeyId) extensions.push(authorityKeyIdentifier(Buffer.from(anchorKeyId, 'hex')));
  const der = buildCertificate({
    issuerName: anchor.certificate.subjectDer,
    subjectName: distinguishedName(options.name ?? DEFAULT_ISSUER_NAME),
    notBefore,
    notAfter: new Date(Math.min(requestedEnd, chainExpiry(anchor.chain).getTime())),
    subjectPublicKeyInfo: spki,
    extensions,
    signingKey: anchor.key,
  });
  const chainPem = [toPem('CERTIFICATE', der), ...anchor.chain.slice(1).map((c) => c.pem)].join('');
  return { certPem: chainPem, keyPem: privateKeyPem(privateKey) };
}

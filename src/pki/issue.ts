import { createPublicKey } from 'node:crypto';
import { parseIdentityName } from '../core/identity-name.ts';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  distinguishedName,
  dnsSubjectAltName,
  keyUsage,
  mtlsExtendedKeyUsage,
  spkiOf,
} from './build.ts';
import { PkiError } from './errors.ts';
import { generateKeyPair, privateKeyPem } from './keys.ts';
import { toPem } from './pem.ts';
import { type CaPem, chainExpiry, loadSigner, type Signer } from './signer.ts';

/** Workload certificates live 24 hours unless asked otherwise. */
export const DEFAULT_LEAF_VALIDITY_MS = 24 * 3_600_000;
/** Leaves are valid this long before issue and after their lifetime, for clocks that disagree. */
export const CLOCK_SKEW_ALLOWANCE_MS = 20_000;

export interface LeafRequest {
  /** DER SubjectPublicKeyInfo of the workload's key. */
  subjectPublicKeyInfo: Uint8Array;
  /** The workload identity, the certificate's only DNS SAN. */
  identity: string;
  /** Default 24h. */
  validForMs?: number;
  now?: Date;
}

export interface IssuedLeaf {
  der: Uint8Array;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Signs a workload certificate: empty subject, the identity as its only (critical)
 * DNS SAN, serverAuth+clientAuth, valid [now − 20 s, now + lifetime + 20 s] but never
 * beyond the signer's chain. Throws E_CERT_EXPIRED when the signer has expired.
 */
export function signLeaf(signer: Signer, request: LeafRequest): IssuedLeaf {
  const now = request.now ?? new Date();
  const expiry = chainExpiry(signer.chain);
  if (now >= expiry) {
    throw new PkiError(
      'E_CERT_EXPIRED',
      `${signer.certificate.source}: the issuer expired at ${expiry.toISOString()}`,
      {
        hint: 'rotate the issuer: strait identity issuer …',
      },
    );
  }
  const notBefore = wholeSeconds(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  const wanted = now.getTime() + (request.validForMs ?? DEFAULT_LEAF_VALIDITY_MS) + CLOCK_SKEW_ALLOWANCE_MS;
  const notAfter = wholeSeconds(Math.min(wanted, expiry.getTime()));
  const der = buildCertificate({
    issuerName: signer.certificate.subjectDer,
    subjectName: EMPTY_NAME,
    notBefore,
    notAfter,
    subjectPublicKeyInfo: request.subjectPublicKeyInfo,
    extensions: [
      ...leafExtensions(signer, isRsaKey(request.subjectPublicKeyInfo)),
      dnsSubjectAltName([request.identity], true),
    ],
    signingKey: signer.key,
  });
  return { der, notBefore, notAfter };
}

/** Certificates carry whole seconds; round down so what we report is what the certificate says. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

const EMPTY_NAME = distinguishedName(undefined);
const LEAF_CONSTRAINTS = basicConstraints(false);
const EC_LEAF_USAGE = keyUsage('digitalSignature');
const RSA_LEAF_USAGE = keyUsage('digitalSignature', 'keyEncipherment');
const MTLS_USAGE = mtlsExtendedKeyUsage();
const authorityIds = new WeakMap<Signer, Uint8Array[]>();

function leafExtensions(signer: Signer, rsa: boolean): Uint8Array[] {
  let authority = authorityIds.get(signer);
  if (!authority) {
    const keyId = signer.certificate.subjectKeyId;
    authority = keyId ? [authorityKeyIdentifier(Buffer.from(keyId, 'hex'))] : [];
    authorityIds.set(signer, authority);
  }
  return [LEAF_CONSTRAINTS, rsa ? RSA_LEAF_USAGE : EC_LEAF_USAGE, MTLS_USAGE, ...authority];
}

// The algorithm OID 1.2.840.113549.1.1.1 (rsaEncryption) sits near the start of an RSA SPKI.
const RSA_OID = Buffer.from('2a864886f70d010101', 'hex');
function isRsaKey(spki: Uint8Array): boolean {
  return Buffer.from(spki.subarray(0, 24)).includes(RSA_OID);
}

export interface WorkloadCertificate {
  /** The leaf alone. */
  certPem: string;
  /** The issuer and any intermediates above it (not the anchor). */
  intermediatesPem: string;
  /** Leaf followed by intermediates: what a TLS server or client presents. */
  chainPem: string;
  /** PKCS#8 ECDSA P-256 private key. */
  keyPem: string;
  notAfter: Date;
}

/**
 * Offline issue: makes a key pair and a workload certificate for `identity`
 * signed by `issuer` (checked first). For plain hosts, tests and break-glass.
 */
export function issueWorkloadCertificate(options: {
  issuer: CaPem;
  identity: string;
  validForMs?: number;
  now?: Date;
}): WorkloadCertificate {
  parseIdentityName(options.identity);
  const now = options.now ?? new Date();
  const signer = loadSigner(options.issuer, 'issuer', now);
  const { privateKey } = generateKeyPair();
  const leaf = signLeaf(signer, {
    subjectPublicKeyInfo: spkiOf(createPublicKey(privateKey)),
    identity: options.identity,
    now,
    ...(options.validForMs === undefined ? {} : { validForMs: options.validForMs }),
  });
  const certPem = toPem('CERTIFICATE', leaf.der);
  const intermediatesPem = signer.chain.map((certificate) => certificate.pem).join('');
  return {
    certPem,
    intermediatesPem,
    chainPem: certPem + intermediatesPem,
    keyPem: privateKeyPem(privateKey),
    notAfter: leaf.notAfter,
  };
}

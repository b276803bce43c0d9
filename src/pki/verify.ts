import { type Certificate, checkValidity, loadCertificates } from './certificate.ts';
import { PkiError } from './errors.ts';
import { checkCanSign } from './signer.ts';

export interface VerifyOptions {
  /** The identity the leaf must carry as a DNS SAN. */
  expectedIdentity?: string;
  /** Time to check validity at; default now. */
  now?: Date;
}

export interface VerifiedChain {
  leaf: Certificate;
  /** Leaf first, then each intermediate used, ending with the anchor. */
  path: Certificate[];
  anchor: Certificate;
  /** The leaf's first DNS SAN. */
  identity: string | undefined;
}

type Certificates = Certificate | Certificate[] | string;

const MAX_DEPTH = 8;

/**
 * Checks that `leaf` chains through `intermediates` to one of the anchors in
 * `bundle`, that every certificate on the path is valid at `now`, that each
 * signer is a CA whose path length allows it, and (when given) that the leaf
 * carries `expectedIdentity`. PEM strings are parsed. Throws a PkiError
 * (E_CHAIN_INVALID, E_CERT_EXPIRED, E_CERT_NOT_YET_VALID, E_CERT_NOT_CA,
 * E_IDENTITY_MISMATCH) naming the certificate at fault.
 */
export function verifyChain(
  leaf: Certificate | string,
  intermediates: Certificates,
  bundle: Certificates,
  options: VerifyOptions = {},
): VerifiedChain {
  const now = options.now ?? new Date();
  const leafCert =
    typeof leaf === 'string' ? (loadCertificates(leaf, 'leaf certificate')[0] as Certificate) : leaf;
  const pool = toList(intermediates, 'intermediate certificates', true).filter(
    (c) => c.fingerprint !== leafCert.fingerprint,
  );
  const anchors = toList(bundle, 'trust bundle', false);

  checkValidity(leafCert, now, 'the certificate');
  checkCriticalExtensions(leafCert, 'certificate');
  if (options.expectedIdentity !== undefined && !leafCert.dnsNames.includes(options.expectedIdentity)) {
    const found = leafCert.dnsNames.length ? leafCert.dnsNames.join(', ') : 'no DNS name';
    throw new PkiError(
      'E_IDENTITY_MISMATCH',
      `${leafCert.source}: expected identity "${options.expectedIdentity}" but the certificate is for ${found}`,
    );
  }

  const path = [leafCert];
  for (let current = leafCert; path.length <= MAX_DEPTH; ) {
    const anchor = anchors.find((candidate) => issued(candidate, current));
    if (anchor) {
      checkSigner(anchor, path, now, 'trust anchor');
      path.push(anchor);
      return { leaf: leafCert, path, anchor, identity: leafCert.dnsNames[0] };
    }
    const next = pool.find((candidate) => !path.includes(candidate) && issued(candidate, current));
    if (!next) break;
    checkSigner(next, path, now, 'intermediate');
    path.push(next);
    current = next;
  }
  const last = path.at(-1) as Certificate;
  throw new PkiError(
    'E_CHAIN_INVALID',
    `${leafCert.source}: does not chain to any trust anchor in the bundle (stopped at "${last.subject || '(empty subject)'}", issued by "${last.issuer}")`,
    { hint: 'include the issuer certificate, and make sure its anchor is in the trust bundle' },
  );
}

function toList(value: Certificates, source: string, mayBeEmpty: boolean): Certificate[] {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return [value];
  if (mayBeEmpty && value.trim() === '') return [];
  return loadCertificates(value, source);
}

function issued(signer: Certificate, subject: Certificate): boolean {
  return subject.x509.checkIssued(signer.x509) && subject.x509.verify(signer.x509.publicKey);
}

function checkSigner(signer: Certificate, below: Certificate[], now: Date, what: string): void {
  checkCanSign(signer, what);
  checkCriticalExtensions(signer, what);
  checkValidity(signer, now, `the ${what}`);
  // Intermediates below this signer, not counting the leaf.
  const intermediatesBelow = below.length - 1;
  if (signer.pathLength !== undefined && intermediatesBelow > signer.pathLength) {
    throw new PkiError(
      'E_CHAIN_INVALID',
      `${signer.source}: the ${what} allows ${signer.pathLength} intermediate(s) below it but the chain has ${intermediatesBelow}`,
    );
  }
}

/** RFC 5280: a certificate with a critical extension the verifier does not process must be refused. */
function checkCriticalExtensions(certificate: Certificate, what: string): void {
  if (certificate.unknownCriticalExtensions.length === 0) return;
  throw new PkiError(
    'E_CHAIN_INVALID',
    `${certificate.source}: the ${what} has critical extensions Strait does not process (${certificate.unknownCriticalExtensions.join(', ')})`,
    { hint: 'name constraints and policy extensions are not supported; use a CA without them' },
  );
}

/**
 * Strait's PKI: trust anchors, per-cluster issuers, workload certificates,
 * certificate requests, trust bundles and chain verification. ECDSA P-256 for
 * everything generated here; ECDSA P-256/P-384 and RSA ≥ 2048 accepted from
 * other tools (openssl, step).
 */
export { buildBundle, loadBundle, type TrustBundle } from './bundle.ts';
export {
  type AnchorOptions,
  type CertificateAndKey,
  createAnchor,
  createIssuer,
  DEFAULT_ANCHOR_NAME,
  DEFAULT_ANCHOR_VALIDITY_MS,
  DEFAULT_ISSUER_NAME,
  DEFAULT_ISSUER_VALIDITY_MS,
  type IssuerOptions,
} from './ca.ts';
export {
  type Certificate,
  checkValidity,
  identityOf,
  loadCertificate,
  loadCertificates,
  parseCertificate,
} from './certificate.ts';
export { checkCsrIdentity, createCsr, type ParsedCsr, parseCsr } from './csr.ts';
export { PkiError } from './errors.ts';
export {
  CLOCK_SKEW_ALLOWANCE_MS,
  DEFAULT_LEAF_VALIDITY_MS,
  type IssuedLeaf,
  issueWorkloadCertificate,
  type LeafRequest,
  signLeaf,
  type WorkloadCertificate,
} from './issue.ts';
export { describeKey, generateKeyPair, loadPrivateKey, privateKeyPem } from './keys.ts';
export { readPemBlocks, toPem } from './pem.ts';
export { type CaPem, chainExpiry, checkCanSign, loadSigner, type Signer } from './signer.ts';
export { type VerifiedChain, type VerifyOptions, verifyChain } from './verify.ts';

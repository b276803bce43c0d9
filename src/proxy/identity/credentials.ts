import type { SecureContextOptions } from 'node:tls';

/** A workload's current TLS identity: what its servers and clients present and trust. */
export interface WorkloadCredentials {
  /** The identity (the certificate's only DNS SAN). */
  readonly identity: string;
  /** The leaf certificate alone, PEM. */
  readonly certPem: string;
  /** Leaf followed by intermediates: what the workload presents in TLS. */
  readonly chainPem: string;
  /** The private key, PEM (made in this process; never sent anywhere). */
  readonly keyPem: string;
  /** Anchors peers must chain to, PEM. */
  readonly trustBundlePem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Options for tls.createServer / tls.connect / server.setSecureContext built from credentials. */
export function secureContextOptions(credentials: WorkloadCredentials): SecureContextOptions {
  return {
    cert: credentials.chainPem,
    key: credentials.keyPem,
    ca: credentials.trustBundlePem,
    minVersion: 'TLSv1.3',
  };
}

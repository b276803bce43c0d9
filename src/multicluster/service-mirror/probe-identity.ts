import { type CaPem, issueWorkloadCertificate } from '../../pki/index.ts';
import type { IdentityMaterial } from '../../proxy/transport/credentials.ts';

/** How long each probe certificate is valid; it is renewed at two thirds of that. */
const VALID_FOR_MS = 24 * 60 * 60 * 1000;

/**
 * The service mirror's identity for authenticated gateway probes, issued by
 * this cluster's issuer (read again at each renewal, so a rotated issuer is
 * picked up) and renewed at two thirds of its life.
 */
export function issuedProbeIdentity(options: {
  identity: string;
  issuer: () => CaPem;
  trustBundle: () => string;
  now?: () => number;
}): () => IdentityMaterial {
  const now = options.now ?? Date.now;
  let current: { material: IdentityMaterial; renewAt: number } | undefined;
  return () => {
    if (!current || now() >= current.renewAt) {
      const issuedAt = now();
      const leaf = issueWorkloadCertificate({
        issuer: options.issuer(),
        identity: options.identity,
        validForMs: VALID_FOR_MS,
        now: new Date(issuedAt),
      });
      const lifetime = leaf.notAfter.getTime() - issuedAt;
      current = {
        material: { certChain: leaf.chainPem, key: leaf.keyPem, trustBundle: options.trustBundle() },
        renewAt: issuedAt + (lifetime * 2) / 3,
      };
    }
    return current.material;
  };
}

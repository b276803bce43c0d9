import type { PeerCertificate, TLSSocket } from 'node:tls';
import {
  type Certificate,
  checkValidity,
  loadBundle,
  PkiError,
  parseCertificate,
  type VerifiedChain,
  verifyChain,
} from '../../pki/index.ts';

/**
 * Checks peers against a trust bundle: the chain reaches one of its anchors,
 * every certificate is valid now, and the leaf carries the expected identity.
 */
export class PeerVerifier {
  #anchors: Certificate[];

  constructor(trustBundlePem: string) {
    this.#anchors = loadBundle(trustBundlePem, 'trust bundle');
  }

  /** Replaces the anchors, e.g. during an anchor rotation. */
  setTrustBundle(pem: string): void {
    this.#anchors = loadBundle(pem, 'trust bundle');
  }

  /**
   * Verifies a chain given as PEM text (leaf first) or DER certificates.
   * Throws a PkiError (E_CHAIN_INVALID, E_CERT_EXPIRED, E_CERT_NOT_YET_VALID,
   * E_IDENTITY_MISMATCH) when it does not hold.
   */
  verify(
    chain: string | Uint8Array[],
    options: { expectedIdentity?: string; now?: Date; source?: string } = {},
  ): VerifiedChain {
    const source = options.source ?? 'peer certificate';
    const certificates =
      typeof chain === 'string'
        ? chain
        : chain.map((der, index) =>
            parseCertificate(der, index === 0 ? source : `${source} (intermediate ${index})`),
          );
    if (typeof certificates === 'string') {
      return verifyChain(certificates, certificates, this.#anchors, options);
    }
    const [leaf, ...intermediates] = certificates;
    if (!leaf) throw new TypeError('verify: empty chain');
    return verifyChain(leaf, intermediates, this.#anchors, options);
  }

  /**
   * Verifies the peer of a TLS connection. When TLS exposes the whole presented
   * chain it is verified here; otherwise (a server looking at a client) the
   * socket must have been verified by TLS against the same bundle
   * (`socket.authorized`), and the leaf is checked for time and identity.
   */
  verifySocket(socket: TLSSocket, options: { expectedIdentity?: string; now?: Date } = {}): VerifiedChain {
    const source = `peer ${socket.remoteAddress}:${socket.remotePort}`;
    const chain = presentedChain(socket.getPeerCertificate(true));
    if (chain.length > 1) return this.verify(chain, { ...options, source });
    if (!socket.authorized || !chain[0]) {
      throw new PkiError(
        'E_CHAIN_INVALID',
        `${source}: TLS did not verify the peer certificate (${String(socket.authorizationError ?? 'none sent')})`,
      );
    }
    const leaf = parseCertificate(chain[0], source);
    checkValidity(leaf, options.now ?? new Date(), 'the certificate');
    if (options.expectedIdentity !== undefined && !leaf.dnsNames.includes(options.expectedIdentity)) {
      throw new PkiError(
        'E_IDENTITY_MISMATCH',
        `${source}: expected identity "${options.expectedIdentity}" but the certificate is for ${leaf.dnsNames.join(', ') || 'no DNS name'}`,
      );
    }
    return { leaf, path: [leaf], anchor: leaf, identity: leaf.dnsNames[0] };
  }
}

/** The DER certificates a peer presented, leaf first. */
export function presentedChain(
  peer: PeerCertificate & { issuerCertificate?: PeerCertificate },
): Uint8Array[] {
  const chain: Uint8Array[] = [];
  const seen = new Set<string>();
  for (let current: typeof peer | undefined = peer; current?.raw && !seen.has(current.fingerprint256); ) {
    seen.add(current.fingerprint256);
    chain.push(new Uint8Array(current.raw));
    current = current.issuerCertificate as typeof peer | undefined;
  }
  return chain;
}

/**
 * A `checkServerIdentity` for tls.connect: the server's certificate must carry
 * `expectedIdentity` as a DNS SAN (chain trust is checked by TLS with `ca`).
 */
export function expectIdentity(
  expectedIdentity: string,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const names = (cert.subjectaltname ?? '')
      .split(', ')
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4));
    if (names.includes(expectedIdentity)) return undefined;
    const error = new Error(
      `server identity mismatch: expected "${expectedIdentity}", got ${names.length ? names.join(', ') : 'no DNS name'}`,
    ) as Error & { code: string };
    error.code = 'E_IDENTITY_MISMATCH';
    return error;
  };
}

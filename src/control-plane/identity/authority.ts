import { createPublicKey } from 'node:crypto';
import {
  type CaPem,
  type Certificate,
  generateKeyPair,
  loadBundle,
  loadSigner,
  privateKeyPem,
  type Signer,
  signLeaf,
  toPem,
  verifyChain,
} from '../../pki/index.ts';

/**
 * The identity service's signing state: the issuer and the trust bundle it
 * must chain to. Both can be replaced while serving; a replacement that does
 * not fit is refused and the current state stays.
 */
export class IssuingAuthority {
  #signer: Signer;
  #anchors: Certificate[];

  constructor(issuer: CaPem, trustBundlePem: string) {
    const anchors = loadBundle(trustBundlePem, 'trust bundle');
    const signer = loadSigner(issuer, 'issuer');
    checkIssuerChains(signer, anchors);
    this.#signer = signer;
    this.#anchors = anchors;
  }

  get signer(): Signer {
    return this.#signer;
  }

  get anchors(): Certificate[] {
    return this.#anchors;
  }

  /** PEM of the trust bundle in use. */
  get trustBundlePem(): string {
    return this.#anchors.map((anchor) => anchor.pem).join('');
  }

  /** Replaces the issuer (rotation); throws, keeping the old one, when the new one is unusable. */
  setIssuer(issuer: CaPem): void {
    const signer = loadSigner(issuer, 'issuer');
    checkIssuerChains(signer, this.#anchors);
    this.#signer = signer;
  }

  /** Replaces the trust bundle; throws, keeping the old one, when the issuer does not chain to it. */
  setTrustBundle(pem: string): void {
    const anchors = loadBundle(pem, 'trust bundle');
    checkIssuerChains(this.#signer, anchors);
    this.#anchors = anchors;
  }

  /** A serving certificate for one of the control plane's own identities, signed in-process. */
  issueOwn(identity: string): { certPem: string; keyPem: string; notBefore: Date; notAfter: Date } {
    const { privateKey } = generateKeyPair();
    const spki = new Uint8Array(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));
    const leaf = signLeaf(this.#signer, { subjectPublicKeyInfo: spki, identity });
    const chain = [toPem('CERTIFICATE', leaf.der), ...this.#signer.chain.map((c) => c.pem)].join('');
    return {
      certPem: chain,
      keyPem: privateKeyPem(privateKey),
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
    };
  }
}

function checkIssuerChains(signer: Signer, anchors: Certificate[]): void {
  verifyChain(signer.certificate, signer.chain.slice(1), anchors);
}

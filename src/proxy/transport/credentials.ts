import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import tls from 'node:tls';
import type { RpcClientTls } from '../../rpc/client.ts';
import { ProxyError } from '../errors.ts';

/** PEM material that makes up a workload identity. */
export interface IdentityMaterial {
  /** Leaf certificate followed by its intermediates. */
  certChain: string;
  key: string;
  /** Trust anchors peers must chain to. */
  trustBundle: string;
}

/**
 * The proxy's current workload identity and the TLS contexts built from it.
 * Contexts are built once per rotation and shared by every connection; new
 * connections pick up a rotated certificate, open ones keep theirs.
 */
export class Credentials extends EventEmitter<{ change: [] }> {
  #material: IdentityMaterial;
  #identity: string;
  #context: tls.SecureContext;
  #notAfter: number;

  constructor(material: IdentityMaterial) {
    super();
    this.#material = material;
    [this.#identity, this.#notAfter] = inspect(material);
    this.#context = buildContext(material);
  }

  /** The DNS SAN of our own certificate. */
  get identity(): string {
    return this.#identity;
  }

  /** Expiry of our certificate, in ms since the epoch. */
  get notAfter(): number {
    return this.#notAfter;
  }

  get material(): IdentityMaterial {
    return this.#material;
  }

  /**
   * The current material as a control-plane gRPC client presents and trusts it;
   * bound, so it can be handed on as a client's `tlsSource`.
   */
  readonly rpcClientTls = (): RpcClientTls => {
    const { trustBundle, certChain, key } = this.#material;
    return { ca: trustBundle, cert: certChain, key };
  };

  /** Context for both directions: presents our certificate, trusts the bundle. */
  get context(): tls.SecureContext {
    return this.#context;
  }

  /** Swaps in new material (after a refresh); throws, keeping the old one, if it is unusable. */
  update(material: IdentityMaterial): void {
    const [identity, notAfter] = inspect(material);
    this.#context = buildContext(material);
    this.#material = material;
    this.#identity = identity;
    this.#notAfter = notAfter;
    this.emit('change');
  }
}

function buildContext(material: IdentityMaterial): tls.SecureContext {
  try {
    return tls.createSecureContext({
      cert: material.certChain,
      key: material.key,
      ca: material.trustBundle,
      minVersion: 'TLSv1.3',
    });
  } catch (error) {
    throw new ProxyError('E_PROXY_IDENTITY', `identity material is unusable: ${(error as Error).message}`, {
      hint: 'the certificate chain, key and trust bundle must be PEM and the key must match the leaf',
      cause: error,
    });
  }
}

function inspect(material: IdentityMaterial): [string, number] {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(material.certChain);
  } catch (error) {
    throw new ProxyError('E_PROXY_IDENTITY', `certificate chain is not PEM: ${(error as Error).message}`);
  }
  const identity = dnsSan(leaf.subjectAltName);
  if (!identity) {
    throw new ProxyError('E_PROXY_IDENTITY', 'workload certificate has no DNS SAN', {
      hint: 'the identity is the DNS SAN <sa>.<ns>.serviceaccount.identity.<cp-ns>.<trust-domain>',
    });
  }
  return [identity, Date.parse(leaf.validTo)];
}

/** The first DNS name of a `subjectaltname` string such as "DNS:a.b, URI:x". */
export function dnsSan(subjectAltName: string | undefined): string | undefined {
  return subjectAltName
    ?.split(', ')
    .find((entry) => entry.startsWith('DNS:'))
    ?.slice(4);
}

/** The verified identity of a TLS peer, or undefined if it presented no trusted certificate. */
export function peerIdentity(socket: tls.TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  return dnsSan(socket.getPeerCertificate()?.subjectaltname);
}

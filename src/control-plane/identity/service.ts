import type { ConnectRouter } from '@connectrpc/connect';
import { Ports } from '../../core/api/names.ts';
import {
  DEFAULT_CONTROL_PLANE_NAMESPACE,
  DEFAULT_TRUST_DOMAIN,
  identityName,
} from '../../core/identity-name.ts';
import { IdentityService as IdentityServiceDesc } from '../../gen/strait/identity/v1/identity_pb.js';
import { type CaPem, DEFAULT_LEAF_VALIDITY_MS } from '../../pki/index.ts';
import { peerAddress, type RpcServer, startRpcServer } from '../../rpc/server.ts';
import { IssuingAuthority } from './authority.ts';
import { type CertifyEvent, certify, toConnectError } from './certify.ts';
import type { CredentialValidator } from './credential.ts';

export interface IdentityServiceOptions {
  /** The issuer (intermediate CA) that signs workload certificates, PEM. */
  issuer: CaPem;
  /** PEM anchors the issuer must chain to. */
  trustBundle: string;
  /** Checks the credential of each request (local workload tokens, Kubernetes TokenReview, …). */
  validator: CredentialValidator;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default cluster.local. */
  trustDomain?: string;
  /** Default strait. */
  controlPlaneNamespace?: string;
  /** Lifetime of workload certificates; default 24h. */
  leafValidityMs?: number;
  /** Told about every issued or refused request. */
  onEvent?: (event: CertifyEvent) => void;
}

/** A running identity service. */
export interface IdentityServiceHandle {
  readonly port: number;
  /** The identity on the service's own certificate; clients use it as the TLS server name. */
  readonly identity: string;
  readonly rpc: RpcServer;
  /** PEM of the current trust bundle. */
  readonly trustBundle: string;
  /** Rotates the issuer without a restart; throws (keeping the old issuer) when the new one is unusable. */
  setIssuer(issuer: CaPem): void;
  /** Replaces the trust bundle; throws (keeping the old one) when the issuer does not chain to it. */
  setTrustBundle(pem: string): void;
  close(): Promise<void>;
}

/** The fraction of its lifetime after which the service renews its own certificate. */
const SERVING_RENEWAL = 0.7;

/**
 * Starts the identity service: gRPC `strait.identity.v1.IdentityService/Certify`
 * over HTTP/2 with TLS. The issuer is checked (key, CA, validity, chains to the
 * bundle) before anything listens. The service's own certificate is issued from
 * the same issuer for `strait-identity.<ns>.serviceaccount.identity.<ns>.<trust-domain>`
 * and renewed in place.
 */
export async function startIdentityService(options: IdentityServiceOptions): Promise<IdentityServiceHandle> {
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const controlPlaneNamespace = options.controlPlaneNamespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE;
  const authority = new IssuingAuthority(options.issuer, options.trustBundle);
  const identity = identityName({
    serviceAccount: 'strait-identity',
    namespace: controlPlaneNamespace,
    controlPlaneNamespace,
    trustDomain,
  });
  const context = {
    authority,
    validator: options.validator,
    trustDomain,
    controlPlaneNamespace,
    leafValidityMs: options.leafValidityMs ?? DEFAULT_LEAF_VALIDITY_MS,
  };
  const servingTls = () => {
    const own = authority.issueOwn(identity);
    return { tls: { cert: own.certPem, key: own.keyPem }, lifetimeMs: own.notAfter.getTime() - Date.now() };
  };

  const first = servingTls();
  const rpc = await startRpcServer({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? Ports.identity,
    tls: first.tls,
    register(router: ConnectRouter) {
      router.service(IdentityServiceDesc, {
        async certify(request, handlerContext) {
          try {
            const response = await certify(request, context, peerAddress(handlerContext));
            const notAfter = response.validUntil
              ? new Date(Number(response.validUntil.seconds) * 1000)
              : new Date();
            options.onEvent?.({ type: 'issued', identity: request.identity, notAfter });
            return response;
          } catch (error) {
            const refused = toConnectError(error);
            const code = /\((E_[A-Z_]+)\)$/.exec(refused.rawMessage)?.[1] ?? 'E_INTERNAL';
            options.onEvent?.({
              type: 'refused',
              identity: request.identity,
              code,
              message: refused.rawMessage,
            });
            throw refused;
          }
        },
      });
    },
  });

  let renewal: NodeJS.Timeout | undefined;
  const renewServing = (lifetimeMs: number) => {
    clearTimeout(renewal);
    renewal = setTimeout(
      () => {
        const next = servingTls();
        rpc.setTls(next.tls);
        renewServing(next.lifetimeMs);
      },
      Math.max(1000, lifetimeMs * SERVING_RENEWAL),
    );
    renewal.unref();
  };
  renewServing(first.lifetimeMs);

  return {
    port: rpc.port,
    identity,
    rpc,
    get trustBundle() {
      return authority.trustBundlePem;
    },
    setIssuer(issuer) {
      authority.setIssuer(issuer);
      const next = servingTls();
      rpc.setTls(next.tls);
      renewServing(next.lifetimeMs);
    },
    setTrustBundle(pem) {
      authority.setTrustBundle(pem);
    },
    async close() {
      clearTimeout(renewal);
      await rpc.close();
    },
  };
}

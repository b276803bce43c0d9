import { createPublicKey, type KeyObject } from 'node:crypto';
import { ConnectError } from '@connectrpc/connect';
import { StraitError } from '../../core/errors.ts';
import { IdentityService } from '../../gen/strait/identity/v1/identity_pb.js';
import {
  createCsr,
  generateKeyPair,
  loadBundle,
  parseCertificate,
  privateKeyPem,
  toPem,
  verifyChain,
} from '../../pki/index.ts';
import { createRpcClient } from '../../rpc/client.ts';
import type { WorkloadCredentials } from './credentials.ts';

/** Where the identity service is and how to recognise it. */
export interface IdentityEndpoint {
  /** host:port of the identity service. */
  address: string;
  /** Identity on the service's certificate, e.g. strait-identity.strait.serviceaccount.identity.strait.cluster.local. */
  serverIdentity: string;
  /** PEM anchors; both the service and the issued chain must chain to them. */
  trustBundlePem: string;
}

/** Why a Certify call failed. `code` is the service's error code (e.g. E_CREDENTIAL_INVALID) or E_IDENTITY_UNAVAILABLE. */
export class CertifyError extends StraitError {
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'CertifyError';
  }
}

/**
 * Gets a certificate for `identity`: makes a P-256 key in this process, sends
 * only a CSR and the credential, then checks what comes back (our key, our
 * identity, chains to the bundle) before returning it.
 */
export async function requestCredentials(
  endpoint: IdentityEndpoint,
  request: { identity: string; token: Uint8Array; signal?: AbortSignal },
): Promise<WorkloadCredentials> {
  const { privateKey } = generateKeyPair();
  const client = createRpcClient(IdentityService, {
    address: endpoint.address,
    ca: endpoint.trustBundlePem,
    serverIdentity: endpoint.serverIdentity,
  });
  let response: Awaited<ReturnType<typeof client.certify>>;
  try {
    response = await client.certify(
      {
        identity: request.identity,
        token: request.token,
        certificateSigningRequest: createCsr(privateKey, request.identity),
      },
      { ...(request.signal ? { signal: request.signal } : {}), timeoutMs: 30_000 },
    );
  } catch (error) {
    throw fromConnectError(error, endpoint.address);
  }
  return accept(
    response.leafCertificate,
    response.intermediateCertificates,
    privateKey,
    request.identity,
    endpoint,
  );
}

function accept(
  leafDer: Uint8Array,
  intermediatesDer: Uint8Array[],
  privateKey: KeyObject,
  identity: string,
  endpoint: IdentityEndpoint,
): WorkloadCredentials {
  const source = `certificate from ${endpoint.address}`;
  const leaf = parseCertificate(leafDer, source);
  const intermediates = intermediatesDer.map((der, index) =>
    parseCertificate(der, `${source} (intermediate ${index + 1})`),
  );
  if (!leaf.x509.publicKey.equals(createPublicKey(privateKey))) {
    throw new CertifyError(
      'E_KEY_MISMATCH',
      `${source}: the certificate is not for the key this process generated`,
    );
  }
  verifyChain(leaf, intermediates, loadBundle(endpoint.trustBundlePem, 'trust bundle'), {
    expectedIdentity: identity,
  });
  const certPem = toPem('CERTIFICATE', leaf.der);
  return {
    identity,
    certPem,
    chainPem: certPem + intermediates.map((certificate) => certificate.pem).join(''),
    keyPem: privateKeyPem(privateKey),
    trustBundlePem: endpoint.trustBundlePem,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
  };
}

function fromConnectError(error: unknown, address: string): CertifyError {
  const connect = ConnectError.from(error);
  const code = /\((E_[A-Z_]+)\)$/.exec(connect.rawMessage)?.[1];
  if (code)
    return new CertifyError(code, `identity service ${address} refused: ${connect.rawMessage}`, {
      cause: error,
    });
  return new CertifyError('E_IDENTITY_UNAVAILABLE', `identity service ${address}: ${connect.rawMessage}`, {
    cause: error,
    hint: 'check that the identity service is running and that the trust bundle and server identity are right',
  });
}

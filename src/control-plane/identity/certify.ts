import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import { StraitError } from '../../core/errors.ts';
import { parseIdentityName } from '../../core/identity-name.ts';
import {
  type CertifyRequest,
  type CertifyResponse,
  CertifyResponseSchema,
} from '../../gen/strait/identity/v1/identity_pb.js';
import { checkCsrIdentity, parseCsr, signLeaf } from '../../pki/index.ts';
import type { IssuingAuthority } from './authority.ts';
import type { CredentialValidator } from './credential.ts';

/** What the service reports about each request, for logs and metrics. */
export type CertifyEvent =
  | { type: 'issued'; identity: string; notAfter: Date }
  | { type: 'refused'; identity: string; code: string; message: string };

export interface CertifyContext {
  authority: IssuingAuthority;
  validator: CredentialValidator;
  trustDomain: string;
  controlPlaneNamespace: string;
  leafValidityMs: number;
}

const MAX_CSR_BYTES = 16 * 1024;
const MAX_TOKEN_BYTES = 16 * 1024;

/**
 * Handles one Certify request: checks the identity name, the CSR (proof of
 * key possession; exactly one DNS SAN equal to the identity), the credential,
 * then signs. Refusals are ConnectErrors whose message ends with the stable
 * error code, e.g. "(E_CSR_IDENTITY_MISMATCH)".
 */
export async function certify(
  request: CertifyRequest,
  context: CertifyContext,
  from?: string,
): Promise<CertifyResponse> {
  const identity = request.identity;
  const caller = from ? `caller ${from} for "${identity}"` : `caller for "${identity}"`;
  checkIdentity(identity, context);
  if (request.certificateSigningRequest.length === 0) {
    throw refusal(
      Code.InvalidArgument,
      'E_CSR_INVALID',
      `${caller}: no certificate signing request was sent`,
    );
  }
  if (request.certificateSigningRequest.length > MAX_CSR_BYTES) {
    throw refusal(
      Code.InvalidArgument,
      'E_CSR_INVALID',
      `${caller}: the certificate signing request is too large`,
    );
  }
  if (request.token.length > MAX_TOKEN_BYTES) {
    throw refusal(Code.Unauthenticated, 'E_CREDENTIAL_INVALID', `${caller}: the credential is too large`);
  }
  const csr = parseCsr(request.certificateSigningRequest, caller);
  checkCsrIdentity(csr, identity, caller);
  const proven = await context.validator.validate(request.token, identity, caller);
  if (proven.identity !== identity) {
    throw refusal(
      Code.PermissionDenied,
      'E_CREDENTIAL_INVALID',
      `${caller}: the credential proves "${proven.identity}"`,
    );
  }
  const signer = context.authority.signer;
  const leaf = signLeaf(signer, {
    subjectPublicKeyInfo: csr.subjectPublicKeyInfo,
    identity,
    validForMs: context.leafValidityMs,
  });
  return create(CertifyResponseSchema, {
    leafCertificate: leaf.der,
    intermediateCertificates: signer.chain.map((certificate) => certificate.der),
    validUntil: timestampFromDate(leaf.notAfter),
  });
}

function checkIdentity(identity: string, context: CertifyContext): void {
  let parts: ReturnType<typeof parseIdentityName>;
  try {
    parts = parseIdentityName(identity);
  } catch (error) {
    throw refusal(Code.InvalidArgument, 'E_IDENTITY_NAME', (error as Error).message);
  }
  if (
    parts.trustDomain !== context.trustDomain ||
    parts.controlPlaneNamespace !== context.controlPlaneNamespace
  ) {
    throw refusal(
      Code.InvalidArgument,
      'E_IDENTITY_NAME',
      `"${identity}" is not an identity of this mesh (want *.serviceaccount.identity.${context.controlPlaneNamespace}.${context.trustDomain})`,
    );
  }
}

function refusal(code: Code, errorCode: string, message: string): ConnectError {
  return new ConnectError(`${message} (${errorCode})`, code);
}

/** Maps a refusal from the checks above to the gRPC status a client sees. */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof StraitError) {
    const code =
      error.code === 'E_CREDENTIAL_INVALID'
        ? Code.Unauthenticated
        : error.code === 'E_CERT_EXPIRED' || error.code === 'E_CERT_NOT_YET_VALID'
          ? Code.FailedPrecondition
          : Code.InvalidArgument;
    return refusal(code, error.code, error.message);
  }
  return new ConnectError('internal error while issuing the certificate', Code.Internal);
}

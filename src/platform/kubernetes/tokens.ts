import { StraitError } from '../../core/errors.ts';
import type { KubeClient } from './client.ts';
import { errorFromResponse } from './errors.ts';

/** A short-lived service-account token issued through the TokenRequest API. */
export interface IssuedToken {
  token: string;
  /** RFC 3339 time after which the API server no longer accepts it. */
  expirationTimestamp: string;
}

/**
 * Issues a token for `namespace/serviceAccount` (POST …/serviceaccounts/<sa>/token).
 * `audiences` defaults to the API server's own; `expirationSeconds` to one hour.
 */
export async function requestServiceAccountToken(
  client: KubeClient,
  namespace: string,
  serviceAccount: string,
  options: { audiences?: string[]; expirationSeconds?: number; signal?: AbortSignal } = {},
): Promise<IssuedToken> {
  const response = await client.request({
    method: 'POST',
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        ...(options.audiences ? { audiences: options.audiences } : {}),
        expirationSeconds: options.expirationSeconds ?? 3600,
      },
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const what = `ServiceAccount ${namespace}/${serviceAccount} token`;
  if (response.status !== 201 && response.status !== 200)
    throw errorFromResponse(what, response.status, response.body);
  const status = (response.body as { status?: Partial<IssuedToken> }).status;
  if (!status?.token || !status.expirationTimestamp) {
    throw new StraitError('E_KUBE_API', `${what}: the API server returned no token`);
  }
  return { token: status.token, expirationTimestamp: status.expirationTimestamp };
}

/** What the API server says about a bearer token. */
export type TokenReviewResult =
  | {
      authenticated: true;
      /** `system:serviceaccount:<namespace>:<name>` for service-account tokens. */
      username: string;
      uid: string;
      groups: string[];
      /** The requested audiences the token is valid for. */
      audiences: string[];
      /** Set for service-account tokens. */
      serviceAccount?: { namespace: string; name: string };
    }
  | { authenticated: false; error: string };

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/**
 * Asks the API server whether `token` is valid for `audiences` (a
 * TokenReview). The caller needs `create` on `tokenreviews`.
 */
export async function reviewToken(
  client: KubeClient,
  token: string,
  options: { audiences?: string[]; signal?: AbortSignal } = {},
): Promise<TokenReviewResult> {
  const response = await client.request({
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/tokenreviews',
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(options.audiences ? { audiences: options.audiences } : {}) },
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status !== 201 && response.status !== 200) {
    throw errorFromResponse('TokenReview', response.status, response.body);
  }
  const status =
    (
      response.body as {
        status?: {
          authenticated?: boolean;
          error?: string;
          audiences?: string[];
          user?: { username?: string; uid?: string; groups?: string[] };
        };
      }
    ).status ?? {};
  if (!status.authenticated)
    return { authenticated: false, error: status.error || 'the token was not accepted' };
  const username = status.user?.username ?? '';
  const match = SERVICE_ACCOUNT_USER.exec(username);
  return {
    authenticated: true,
    username,
    uid: status.user?.uid ?? '',
    groups: status.user?.groups ?? [],
    audiences: status.audiences ?? [],
    ...(match ? { serviceAccount: { namespace: match[1] as string, name: match[2] as string } } : {}),
  };
}

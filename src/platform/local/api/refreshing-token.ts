import { StraitError } from '../../../core/errors.ts';
import { type ApiStore, createApiStore } from './client.ts';
import type { ApiCredential } from './kubeconfig.ts';
import { requestServiceAccountToken } from './token-request.ts';

/** Seconds a token lives, read from its `iat` and `exp` claims (no signature check: it is our own). */
export function tokenLifetime(token: string): { issuedAt: number; expiresAt: number } {
  const payload = token.split('.')[1];
  try {
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as {
      iat?: number;
      exp?: number;
    };
    if (typeof claims.exp !== 'number') throw new Error('no exp claim');
    return { issuedAt: claims.iat ?? Math.floor(Date.now() / 1000), expiresAt: claims.exp };
  } catch (error) {
    throw new StraitError(
      'E_TOKEN_INVALID',
      `the credential's token cannot be read: ${(error as Error).message}`,
    );
  }
}

/**
 * A store for a ServiceAccount credential that keeps its token fresh: at 70%
 * of the token's lifetime it asks the API for a new token of the same
 * ServiceAccount (allowed while the current one is valid), so a link never
 * holds a long-lived secret. `onRefresh` may persist the new token.
 */
export function createRefreshingApiStore(
  credential: ApiCredential,
  account: { namespace: string; name: string },
  options: {
    onRefresh?: (token: string) => void;
    onError?: (error: unknown) => void;
    now?: () => number;
  } = {},
): ApiStore {
  const now = options.now ?? Date.now;
  let token = credential.token;
  let refreshing: Promise<void> | undefined;
  const dueAt = (current: string) => {
    const { issuedAt, expiresAt } = tokenLifetime(current);
    return (issuedAt + (expiresAt - issuedAt) * 0.7) * 1000;
  };
  const refresher = createApiStore({ server: credential.server, ca: credential.caPem, token: () => token });
  const refresh = async () => {
    const lifetime = tokenLifetime(token);
    const seconds = Math.max(600, lifetime.expiresAt - lifetime.issuedAt);
    const fresh = await requestServiceAccountToken(refresher, account, seconds);
    token = fresh.token;
    options.onRefresh?.(token);
  };
  const store = createApiStore({
    server: credential.server,
    ca: credential.caPem,
    token: async () => {
      if (now() >= dueAt(token)) {
        refreshing ??= refresh()
          .catch((error: unknown) => options.onError?.(error))
          .finally(() => {
            refreshing = undefined;
          });
        await refreshing;
      }
      return token;
    },
  });
  return {
    ...store,
    close() {
      store.close();
      refresher.close();
    },
  };
}

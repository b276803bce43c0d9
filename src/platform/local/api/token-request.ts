import { Kinds } from '../../../core/kinds.ts';
import type { ApiStore } from './client.ts';
import { resourcePath } from './paths.ts';

/**
 * Asks a cluster's API for a token of a ServiceAccount (Kubernetes'
 * TokenRequest). The admin may ask for any ServiceAccount; a ServiceAccount
 * may refresh its own token while the current one is still valid.
 */
export async function requestServiceAccountToken(
  store: ApiStore,
  account: { namespace: string; name: string },
  expirationSeconds = 3600,
): Promise<{ token: string; expirationTimestamp: string }> {
  const path = resourcePath(Kinds.ServiceAccount, { ...account, subresource: 'token' });
  const response = (await store.request('POST', path, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: ['strait-api'], expirationSeconds },
  })) as { status: { token: string; expirationTimestamp: string } };
  return response.status;
}

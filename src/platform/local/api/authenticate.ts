import { timingSafeEqual } from 'node:crypto';
import type { ServiceAccount } from '../../../core/api/core.ts';
import { Kinds } from '../../../core/kinds.ts';
import type { ResourceStore } from '../../../core/store.ts';
import { ADMIN_GROUP, type UserInfo } from './rbac.ts';
import type { ServiceAccountTokens } from './service-account-token.ts';
import { UnauthorizedError } from './status.ts';

/** The user of the cluster admin token. */
export const ADMIN_USER = 'strait:admin';

export interface Authenticator {
  /** The caller of a request with this Authorization header; throws UnauthorizedError. */
  authenticate(authorization: string | undefined): Promise<UserInfo>;
}

/**
 * Accepts the cluster admin token (from the cluster's state directory) and
 * ServiceAccount tokens whose ServiceAccount still exists with the same uid,
 * so deleting the ServiceAccount revokes every token it was given.
 */
export function createAuthenticator(options: {
  store: ResourceStore;
  adminToken: string;
  tokens: ServiceAccountTokens;
}): Authenticator {
  const admin = Buffer.from(options.adminToken);
  return {
    async authenticate(authorization) {
      if (!authorization) throw new UnauthorizedError('no bearer token');
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!match) throw new UnauthorizedError('the Authorization header is not "Bearer <token>"');
      const token = match[1] as string;
      const presented = Buffer.from(token);
      if (presented.length === admin.length && timingSafeEqual(presented, admin)) {
        return { name: ADMIN_USER, groups: [ADMIN_GROUP, 'system:authenticated'] };
      }
      const claims = options.tokens.verify(token);
      const { namespace, name, uid } = claims.serviceAccount;
      const account = await options.store.get<ServiceAccount>({ ...Kinds.ServiceAccount, namespace, name });
      if (!account || account.metadata.uid !== uid) {
        throw new UnauthorizedError(`ServiceAccount ${namespace}/${name} of the token no longer exists`);
      }
      return {
        name: claims.sub,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        serviceAccount: { namespace, name },
      };
    },
  };
}

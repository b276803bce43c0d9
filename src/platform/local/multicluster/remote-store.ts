import type { Secret } from '../../../core/api/core.ts';
import { LINK_CREDENTIALS_KEY } from '../../../core/api/multicluster.ts';
import { describeError, StraitError } from '../../../core/errors.ts';
import { Kinds } from '../../../core/kinds.ts';
import type { ResourceStore } from '../../../core/store.ts';
import type { RemoteStore, RemoteStoreFactory } from '../../../multicluster/service-mirror/link-manager.ts';
import { isKubernetesToken } from '../../../multicluster/service-mirror/token-renewal.ts';
import { createApiStore } from '../api/client.ts';
import { formatKubeconfig, parseKubeconfig } from '../api/kubeconfig.ts';
import { createRefreshingApiStore } from '../api/refreshing-token.ts';

/**
 * Reaches a Kubernetes target from a link's kubeconfig, renewing its token;
 * `onRenewed` gets the kubeconfig with the new token. Supplied by callers that
 * can load the Kubernetes client (see `remoteKubernetes` in src/cli/commands/mc-kubernetes.ts).
 */
export type KubernetesTargets = (
  kubeconfig: string,
  source: string,
  options: { onRenewed: (kubeconfig: string) => void; onError?: (error: unknown) => void },
) => Promise<{ store: ResourceStore; renewer: { start(): void; stop(): void } }>;

/**
 * The target's API from a Link's credentials Secret. A ServiceAccount token is
 * renewed before it expires and the Secret rewritten with the new one, so a
 * link never depends on a long-lived token. Kubernetes targets need
 * `kubernetes`; without it their Links are refused with a clear error.
 */
export function linkRemoteStores(options: {
  local: ResourceStore;
  log: (line: string) => void;
  kubernetes?: KubernetesTargets;
}): RemoteStoreFactory {
  const { local, log } = options;
  return async (secret: Secret): Promise<RemoteStore> => {
    const where = `Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
    const saveKubeconfig = (kubeconfig: string) => {
      local
        .patch(
          { ...Kinds.Secret, namespace: secret.metadata.namespace as string, name: secret.metadata.name },
          { data: { [LINK_CREDENTIALS_KEY]: Buffer.from(kubeconfig).toString('base64') } },
        )
        .then(() => log(`renewed the token in ${where}`))
        .catch((error) => log(`saving the renewed token in ${where}: ${describeError(error)}`));
    };
    const onError = (error: unknown) => log(`renewing the token of ${where}: ${describeError(error)}`);
    const text = credentialsText(secret, where);
    const credential = parseKubeconfig(text, where);
    if (isKubernetesToken(credential.token)) {
      if (!options.kubernetes) {
        throw new StraitError('E_LINK_CREDENTIALS', `${where} reaches a Kubernetes cluster`, {
          hint: 'mirror Kubernetes targets with node src/cmd/service-mirror.ts',
        });
      }
      const remote = await options.kubernetes(text, where, { onRenewed: saveKubeconfig, onError });
      remote.renewer.start();
      return Object.assign(remote.store, { close: () => remote.renewer.stop() });
    }
    const account = serviceAccountOf(credential.token);
    if (!account)
      return createApiStore({ server: credential.server, ca: credential.caPem, token: credential.token });
    return createRefreshingApiStore(credential, account, {
      onRefresh: (token) => saveKubeconfig(formatKubeconfig({ ...credential, token })),
      onError,
    });
  };
}

function credentialsText(secret: Secret, where: string): string {
  const encoded = secret.data?.[LINK_CREDENTIALS_KEY];
  const text = encoded
    ? Buffer.from(encoded, 'base64').toString('utf8')
    : secret.stringData?.[LINK_CREDENTIALS_KEY];
  if (!text) throw new StraitError('E_LINK_CREDENTIALS', `${where} has no "${LINK_CREDENTIALS_KEY}" key`);
  return text;
}

/** The ServiceAccount a token belongs to, from its claims; undefined for other tokens. */
function serviceAccountOf(token: string): { namespace: string; name: string } | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      serviceAccount?: { namespace?: string; name?: string };
    };
    const { namespace, name } = claims.serviceAccount ?? {};
    return namespace && name ? { namespace, name } : undefined;
  } catch {
    return undefined;
  }
}

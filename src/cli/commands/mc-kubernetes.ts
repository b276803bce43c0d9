import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { StraitError } from '../../core/errors.ts';
import type { KindInfo } from '../../core/kinds.ts';
import { TokenRenewer } from '../../multicluster/service-mirror/token-renewal.ts';
import { KubeClient } from '../../platform/kubernetes/client.ts';
import { KubernetesKinds } from '../../platform/kubernetes/kinds.ts';
import { loadKubeConfig } from '../../platform/kubernetes/open.ts';
import { KubernetesStore } from '../../platform/kubernetes/store.ts';
import { requestServiceAccountToken } from '../../platform/kubernetes/tokens.ts';
import { formatKubeconfig, parseKubeconfig } from '../../platform/local/api/kubeconfig.ts';

/** Deployments, which `mc install` writes on Kubernetes (the gateway). */
export const DeploymentKind: KindInfo = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  plural: 'deployments',
  namespaced: true,
  hasStatus: true,
  shortNames: ['deploy'],
};

/** A Kubernetes cluster as `strait mc` uses it: a store, a raw client, and how to reach its API. */
export interface KubernetesTarget {
  store: KubernetesStore;
  client: KubeClient;
  server: string;
  /** The API server's CA (PEM), for kubeconfigs handed to other clusters. */
  caPem: string;
}

function storeOf(client: KubeClient): KubernetesStore {
  return new KubernetesStore(client, { extraKinds: [...Object.values(KubernetesKinds), DeploymentKind] });
}

/** Opens a kubeconfig context for `strait mc`. */
export function openKubernetesTarget(kubeconfig: string, context: string): KubernetesTarget {
  const config = loadKubeConfig({ kubeconfig, context });
  const cluster = config.getCurrentCluster();
  const client = new KubeClient(config);
  const caPem = cluster?.caData
    ? Buffer.from(cluster.caData, 'base64').toString('utf8')
    : cluster?.caFile
      ? readFileSync(cluster.caFile, 'utf8')
      : '';
  return { store: storeOf(client), client, server: client.server, caPem };
}

/**
 * Mints a short-lived TokenRequest token of `namespace/account` on the target
 * and returns a kubeconfig holding it, named after the cluster.
 */
export async function mintLinkKubeconfig(
  target: KubernetesTarget,
  clusterName: string,
  account: { namespace: string; name: string },
  expirationSeconds: number,
): Promise<string> {
  const { token } = await requestServiceAccountToken(target.client, account.namespace, account.name, {
    expirationSeconds,
  });
  return formatKubeconfig({ clusterName, server: target.server, caPem: target.caPem, token });
}

/** A linked cluster's API reached with a link's kubeconfig, and the renewer of its token. */
export interface RemoteKubernetes {
  store: KubernetesStore;
  renewer: TokenRenewer;
}

/**
 * A store of the target cluster from a link's kubeconfig whose ServiceAccount
 * token is renewed with TokenRequest (as that ServiceAccount) at 70% of its
 * lifetime; `onRenewed` gets the kubeconfig with the new token, to be saved.
 * Call `renewer.start()` to begin and `renewer.stop()` when done.
 */
export function remoteKubernetes(
  text: string,
  source: string,
  options: { onRenewed: (kubeconfig: string) => void; onError?: (error: unknown) => void },
): RemoteKubernetes {
  const credential = parseKubeconfig(text, source);
  const config = new KubeConfig();
  config.loadFromString(text);
  const userName = config.getCurrentUser()?.name;
  const account = serviceAccountOf(credential.token, source);
  const withToken = (token: string) => {
    const copy = new KubeConfig();
    copy.loadFromString(text);
    copy.users = copy.users.map((user) => (user.name === userName ? { ...user, token } : user));
    return copy;
  };
  const client = new KubeClient(config);
  const renewer = new TokenRenewer({
    token: credential.token,
    renew: async (current, seconds) => {
      const issued = await requestServiceAccountToken(
        new KubeClient(withToken(current)),
        account.namespace,
        account.name,
        {
          expirationSeconds: seconds,
        },
      );
      return issued.token;
    },
    onRenewed: (token) => {
      config.users = config.users.map((user) => (user.name === userName ? { ...user, token } : user));
      options.onRenewed(formatKubeconfig({ ...credential, token }));
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return { store: storeOf(client), renewer };
}

function serviceAccountOf(token: string, source: string): { namespace: string; name: string } {
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    'kubernetes.io'?: { namespace?: string; serviceaccount?: { name?: string } };
  };
  const namespace = claims['kubernetes.io']?.namespace;
  const name = claims['kubernetes.io']?.serviceaccount?.name;
  if (!namespace || !name) {
    throw new StraitError('E_LINK_CREDENTIALS', `${source}: the token is not a ServiceAccount token`, {
      hint: 'link again: strait mc link',
    });
  }
  return { namespace, name };
}

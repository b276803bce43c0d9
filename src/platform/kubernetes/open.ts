import { KubeConfig } from '@kubernetes/client-node';
import { StraitError } from '../../core/errors.ts';
import { KubeClient } from './client.ts';
import { KubernetesKinds } from './kinds.ts';
import { KubernetesStore, type KubernetesStoreOptions } from './store.ts';

/** Where to find the cluster: a kubeconfig file (else $KUBECONFIG or ~/.kube/config) and a context in it. */
export interface KubeconfigSelection {
  kubeconfig?: string | undefined;
  /** Defaults to the kubeconfig's current context. */
  context?: string | undefined;
}

/** Loads a kubeconfig and selects a context; names the file and the known contexts when one is missing. */
export function loadKubeConfig(selection: KubeconfigSelection = {}): KubeConfig {
  const config = new KubeConfig();
  const source = selection.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config';
  try {
    if (selection.kubeconfig) config.loadFromFile(selection.kubeconfig);
    else config.loadFromDefault();
  } catch (error) {
    throw new StraitError(
      'E_KUBECONFIG',
      `kubeconfig ${source} cannot be read: ${(error as Error).message}`,
      {
        hint: 'pass --kubeconfig or set KUBECONFIG to a valid file',
        cause: error,
      },
    );
  }
  if (selection.context !== undefined) {
    if (!config.getContextObject(selection.context)) {
      const known = config.getContexts().map((c) => c.name);
      throw new StraitError('E_KUBECONFIG', `kubeconfig ${source} has no context "${selection.context}"`, {
        hint: known.length > 0 ? `known contexts: ${known.join(', ')}` : 'the file defines no contexts',
      });
    }
    config.setCurrentContext(selection.context);
  }
  if (!config.getCurrentCluster()) {
    throw new StraitError(
      'E_KUBECONFIG',
      `kubeconfig ${source}: context "${config.getCurrentContext()}" has no cluster`,
      {
        hint: 'pick a context with --context',
      },
    );
  }
  return config;
}

/** A KubernetesStore for the selected cluster, serving the Kubernetes-only kinds (Node, EndpointSlice, CRDs) too. */
export function openKubernetesStore(
  selection: KubeconfigSelection = {},
  options: KubernetesStoreOptions = {},
): KubernetesStore {
  return new KubernetesStore(new KubeClient(loadKubeConfig(selection)), {
    ...options,
    extraKinds: [...Object.values(KubernetesKinds), ...(options.extraKinds ?? [])],
  });
}

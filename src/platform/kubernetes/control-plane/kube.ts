import { KubeConfig } from '@kubernetes/client-node';
import { Kinds } from '../../../core/kinds.ts';
import type { KindRef, Resource } from '../../../core/resource.ts';
import type { ListOptions, ListResult, WatchEvent, WatchOptions } from '../../../core/store.ts';
import { KubeClient } from '../client.ts';
import { KindNotServedError } from '../errors.ts';
import { KubernetesKinds } from '../kinds.ts';
import { type KubeconfigSelection, loadKubeConfig } from '../open.ts';
import { KubernetesStore } from '../store.ts';
import { ControlPlaneConfigError } from './config.ts';

/**
 * The cluster a control-plane process serves: the selected kubeconfig when
 * one is given, else the Pod's own service account (in-cluster config).
 */
export function clusterClient(
  selection: KubeconfigSelection,
  env: NodeJS.ProcessEnv = process.env,
): KubeClient {
  if (selection.kubeconfig === undefined && selection.context === undefined) {
    if (!env.KUBERNETES_SERVICE_HOST) {
      throw new ControlPlaneConfigError('no cluster to serve: not in a Pod and no kubeconfig given', {
        hint: 'run in a cluster, or pass --kubeconfig FILE [--context NAME] or set KUBECONFIG',
      });
    }
    const config = new KubeConfig();
    config.loadFromCluster();
    return new KubeClient(config);
  }
  return new KubeClient(loadKubeConfig(selection));
}

const same = (a: KindRef, b: KindRef) => a.kind === b.kind && a.apiVersion === b.apiVersion;

export interface ClusterStoreOptions {
  /** Told once per optional kind the cluster does not serve. */
  onUnservedKind?: (kind: KindRef) => void;
}

/**
 * The store the control-plane services read on Kubernetes. Workload is a
 * kind of the local platform only (Pods are the workloads here), and
 * HTTPRoute needs the Gateway API CRDs, which a cluster may not have: such
 * kinds list empty and their watches stay quiet instead of failing. HTTPRoute
 * CRDs installed later are seen after a restart. Every other kind goes to the cluster.
 */
export class ClusterStore extends KubernetesStore {
  readonly #unserved: KindRef[] = [Kinds.Workload];
  readonly #onUnservedKind: ((kind: KindRef) => void) | undefined;

  constructor(client: KubeClient, options: ClusterStoreOptions = {}) {
    super(client, { extraKinds: Object.values(KubernetesKinds) });
    this.#onUnservedKind = options.onUnservedKind;
  }

  override async list<T extends Resource = Resource>(
    kind: KindRef,
    options: ListOptions = {},
  ): Promise<ListResult<T>> {
    if (this.#unserved.some((k) => same(k, kind))) return { items: [], resourceVersion: '0' };
    try {
      return await super.list<T>(kind, options);
    } catch (error) {
      if (!(error instanceof KindNotServedError) || !same(kind, Kinds.HTTPRoute)) throw error;
      this.#unserved.push(kind);
      this.#onUnservedKind?.(kind);
      return { items: [], resourceVersion: '0' };
    }
  }

  override watch<T extends Resource = Resource>(
    kind: KindRef,
    options: WatchOptions = {},
  ): AsyncIterable<WatchEvent<T>> {
    if (this.#unserved.some((k) => same(k, kind))) return quiet(options.signal);
    return super.watch<T>(kind, options);
  }
}

/** A watch with no events that ends when `signal` aborts. */
async function* quiet<T>(signal: AbortSignal | undefined): AsyncIterable<T> {
  if (!signal) return;
  if (!signal.aborted)
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
}

/** A store on `client` that serves the Kubernetes-only kinds (Pod, EndpointSlice, …) too. */
export function clusterStore(client: KubeClient, options: ClusterStoreOptions = {}): ClusterStore {
  return new ClusterStore(client, options);
}

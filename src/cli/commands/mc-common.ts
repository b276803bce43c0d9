import { readFileSync } from 'node:fs';
import { StraitError } from '../../core/errors.ts';
import { kindInfo } from '../../core/kinds.ts';
import { type Resource, refOf } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';
import type { ApiStore } from '../../platform/local/api/client.ts';
import type { ClusterConfig } from '../../platform/local/cluster-config.ts';
import { apiUrl, clusterFiles, readClusterConfig } from '../../platform/local/cluster-config.ts';
import type { OptionValues } from '../command.ts';
import { type ClusterContext, type ContextStore, openContextStore, resolveContext } from '../context.ts';
import { appliedVerb } from '../output.ts';
import type { KubernetesTarget } from './mc-kubernetes.ts';

export const MC_FIELD_MANAGER = 'strait-mc';

/** Applies objects in order, writing a `kind/name verb` line for each. */
export async function applyObjects(
  store: ResourceStore,
  objects: Resource[],
  out: NodeJS.WritableStream,
): Promise<void> {
  for (const object of objects) {
    const before = await store.get(refOf(object));
    const { status, ...spec } = object;
    let after = await store.apply(spec as Resource, { fieldManager: MC_FIELD_MANAGER, force: true });
    if (status !== undefined && kindInfo(object)?.hasStatus) {
      after = await store.updateStatus({ ...after, status });
    }
    out.write(`${object.kind.toLowerCase()}/${object.metadata.name} ${appliedVerb(before, after)}\n`);
  }
}

/** Deletes objects, writing a line for each one that existed. */
export async function deleteObjects(
  store: ResourceStore,
  objects: Resource[],
  out: NodeJS.WritableStream,
): Promise<void> {
  for (const object of [...objects].reverse()) {
    if (await store.delete(refOf(object)))
      out.write(`${object.kind.toLowerCase()}/${object.metadata.name} deleted\n`);
  }
}

/** What link-gen needs of a local cluster: its settings, API address and CA. */
export interface LocalClusterAccess {
  config: ClusterConfig;
  server: string;
  caPem: string;
  trustAnchorPem: string;
}

/** The local cluster behind a context; link credentials are minted only for local clusters so far. */
export function localClusterAccess(context: ClusterContext): LocalClusterAccess {
  if (context.platform !== 'local') {
    throw new StraitError('E_MC_PLATFORM', `context "${context.name}" is a Kubernetes cluster`, {
      hint: 'strait mc link-gen mints credentials for local clusters; on Kubernetes create the remote-access token with kubectl',
    });
  }
  const config = readClusterConfig(context.dir);
  const files = clusterFiles(context.dir);
  return {
    config,
    server: apiUrl(config),
    caPem: readFileSync(files.apiCa, 'utf8'),
    trustAnchorPem: readFileSync(files.trustAnchor, 'utf8'),
  };
}

/** The store as the local platform's API client (which can mint tokens). */
export function asApiStore(store: ResourceStore): ApiStore {
  if (typeof (store as Partial<ApiStore>).request !== 'function') {
    throw new StraitError('E_MC_PLATFORM', 'this cluster cannot mint ServiceAccount tokens through its API');
  }
  return store as ApiStore;
}

/** A context's store for `strait mc`; on Kubernetes also the raw client, API address and CA. */
export interface McStore extends ContextStore {
  kubernetes?: KubernetesTarget;
}

/**
 * Opens the context the command line chose. Kubernetes contexts get a store
 * that also serves Deployments (the gateway), and the means to mint tokens.
 */
export async function openMcStore(values: OptionValues, env: NodeJS.ProcessEnv): Promise<McStore> {
  const context = resolveContext(values, env);
  if (context.platform === 'local') return openContextStore(values, env);
  const { openKubernetesTarget } = await import('./mc-kubernetes.ts');
  const kubernetes = openKubernetesTarget(context.kubeconfig, context.name);
  return { context, store: kubernetes.store, kubernetes, close: () => {} };
}

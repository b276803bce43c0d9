import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import { KubernetesStore, type KubernetesStoreOptions } from '../../../src/platform/kubernetes/store.ts';
import type { TestClusters } from '../harness/clusters.ts';

/** A store on one of the test clusters, serving the platform's extra kinds too. */
export function storeOn(
  clusters: TestClusters,
  name: 'west' | 'east',
  options: KubernetesStoreOptions = {},
): KubernetesStore {
  return new KubernetesStore(clusters.client(name), {
    extraKinds: Object.values(KubernetesKinds),
    ...options,
  });
}

/** Creates a namespace with a unique name (tests never share one). */
export async function freshNamespace(store: KubernetesStore, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

/** Polls until `check` returns a value other than undefined/false; fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/** A ConfigMap's shape. */
export interface ConfigMap extends Resource {
  data?: Record<string, string>;
}

/** A ConfigMap in `namespace`. */
export function configMap(
  namespace: string,
  name: string,
  data: Record<string, string>,
  labels?: Record<string, string>,
): ConfigMap {
  return {
    apiVersion: Kinds.ConfigMap.apiVersion,
    kind: Kinds.ConfigMap.kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    data,
  };
}

import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import type { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import { apiPrefix } from '../../../src/platform/kubernetes/paths.ts';
import { KubernetesStore, type KubernetesStoreOptions } from '../../../src/platform/kubernetes/store.ts';
import { strait, straitOk } from '../../fixtures/strait-cli.ts';
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

/** The API path of a resource's collection, or of the resource itself when `named`. */
export function resourcePath(resource: Resource, named = false): string {
  const ns = resource.metadata.namespace ? `/namespaces/${resource.metadata.namespace}` : '';
  const name = named ? `/${resource.metadata.name}` : '';
  return `${apiPrefix(resource.apiVersion)}${ns}/${resource.kind.toLowerCase()}s${name}`;
}

/** Creates each object, or replaces it when it exists (what `kubectl apply` does for these). */
export async function applyAsKubectl(client: KubeClient, resources: Resource[]): Promise<void> {
  for (const resource of resources) {
    let response = await client.request({ method: 'POST', path: resourcePath(resource), body: resource });
    if (response.status === 409) {
      const current = await client.request({ method: 'GET', path: resourcePath(resource, true) });
      const resourceVersion = (current.body as Resource).metadata.resourceVersion;
      const body = { ...resource, metadata: { ...resource.metadata, resourceVersion } };
      response = await client.request({ method: 'PUT', path: resourcePath(resource, true), body });
    }
    assert.ok(
      response.status < 300,
      `${resource.kind} ${resource.metadata.name}: ${JSON.stringify(response.body)}`,
    );
  }
}

/**
 * `strait mc ARGS` against the test clusters' kubeconfig: `mc` resolves the
 * result, `ok` asserts the command succeeded and resolves its stdout.
 */
export function mcCli(home: string, clusters: TestClusters) {
  const argv = (args: string[]) => ['mc', ...args, '--kubeconfig', clusters.kubeconfig];
  return {
    mc: (...args: string[]) => strait(home, argv(args)),
    ok: (...args: string[]) => straitOk(home, argv(args)),
  };
}

/**
 * An uncommon port below the ephemeral range (32768 and up on Linux) for a
 * pod's app: a socket some other test bound on that port (its own listener,
 * or the local end of an outgoing connection) would keep the pod's process
 * from binding it, or answer in its place.
 */
export function uncommonPort(): number {
  return 10_000 + randomInt(20_000);
}

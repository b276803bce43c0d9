import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoints, Namespace, Secret, Service } from '../../../src/core/api/core.ts';
import type { Link } from '../../../src/core/api/multicluster.ts';
import type { ResourceStore } from '../../../src/core/store.ts';

export const GATEWAY_IDENTITY =
  'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local';

export function namespace(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function credentials(name = 'cluster-credentials-east'): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'mirror.strait.io/remote-kubeconfig',
    metadata: { name, namespace: 'strait-multicluster' },
    data: { kubeconfig: Buffer.from('apiVersion: v1\nkind: Config\n').toString('base64') },
  };
}

export function link(overrides: Partial<NonNullable<Link['spec']>> = {}): Link {
  return {
    apiVersion: 'multicluster.strait.io/v1alpha1',
    kind: 'Link',
    metadata: { name: 'east', namespace: 'strait-multicluster' },
    spec: {
      targetClusterName: 'east',
      targetClusterDomain: 'cluster.local',
      clusterCredentialsSecret: 'cluster-credentials-east',
      gatewayAddress: '127.0.0.1',
      gatewayPort: 4143,
      gatewayIdentity: GATEWAY_IDENTITY,
      probeSpec: { path: '/ready', port: 4191, period: '3s', timeout: '2s', failureThreshold: 3 },
      ...overrides,
    },
  };
}

export function service(
  name: string,
  options: { namespace?: string; exported?: boolean; ports?: number[]; headless?: boolean } = {},
): Service {
  const labels: Record<string, string> = { app: name };
  if (options.exported !== false) labels['mirror.strait.io/exported'] = 'true';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: options.namespace ?? 'shop', labels },
    spec: {
      selector: { app: name },
      ports: (options.ports ?? [8080]).map((port) => ({ name: `p${port}`, port })),
      ...(options.headless ? { clusterIP: 'None' } : {}),
    },
  };
}

export function endpoints(
  name: string,
  addresses: { ip: string; hostname?: string }[],
  namespace = 'shop',
): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace },
    subsets: [{ addresses, ports: [{ name: 'p8080', port: 8080 }] }],
  };
}

/** Retries `check` until it stops throwing, up to `timeoutMs` (generous: the machine is shared). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

export async function getService(
  store: ResourceStore,
  name: string,
  ns = 'shop',
): Promise<Service | undefined> {
  return store.get<Service>({ apiVersion: 'v1', kind: 'Service', namespace: ns, name });
}

export async function getEndpoints(
  store: ResourceStore,
  name: string,
  ns = 'shop',
): Promise<Endpoints | undefined> {
  return store.get<Endpoints>({ apiVersion: 'v1', kind: 'Endpoints', namespace: ns, name });
}

export async function getLink(store: ResourceStore, name = 'east'): Promise<Link | undefined> {
  return store.get<Link>({
    apiVersion: 'multicluster.strait.io/v1alpha1',
    kind: 'Link',
    namespace: 'strait-multicluster',
    name,
  });
}

export async function mirrorNames(store: ResourceStore, cluster = 'east'): Promise<string[]> {
  const { items } = await store.list<Service>(
    { apiVersion: 'v1', kind: 'Service' },
    { labelSelector: `mirror.strait.io/cluster-name=${cluster}` },
  );
  return items.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort();
}

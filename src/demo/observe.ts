// What the demo reads to show its evidence: workloads and endpoints from a cluster's store, and
// the front end's counts and calls (with the caller identity the back end saw).
import type { Endpoints } from '../core/api/core.ts';
import type { Workload } from '../core/api/local.ts';
import { Kinds } from '../core/kinds.ts';
import type { ResourceStore } from '../core/store.ts';
import { openClusterStore } from '../platform/local/cluster-store.ts';
import { clusterDirectory } from '../platform/local/home.ts';
import { NAMESPACE } from './manifests.ts';
import { getInCluster } from './reach.ts';

/** Uses the admin store of a demo cluster for one operation. */
export async function withCluster<T>(
  home: string,
  cluster: string,
  use: (store: ResourceStore) => Promise<T>,
): Promise<T> {
  const store = openClusterStore(clusterDirectory(home, cluster));
  try {
    return await use(store);
  } finally {
    store.close();
  }
}

/** The address of a ready workload of the demo namespace, else undefined. */
export function readyWorkloadAddress(
  home: string,
  cluster: string,
  name: string,
): Promise<string | undefined> {
  return withCluster(home, cluster, async (store) => {
    const workload = await store.get<Workload>({ ...Kinds.Workload, namespace: NAMESPACE, name });
    return workload?.status?.ready && workload.status.address ? workload.status.address : undefined;
  });
}

/** The ready and not-ready addresses of a Service's Endpoints (undefined when it has none). */
export function endpointAddresses(
  home: string,
  cluster: string,
  service: string,
): Promise<{ ready: string[]; notReady: string[] } | undefined> {
  return withCluster(home, cluster, async (store) => {
    const eps = await store.get<Endpoints>({ ...Kinds.Endpoints, namespace: NAMESPACE, name: service });
    if (!eps) return undefined;
    const subsets = eps.subsets ?? [];
    return {
      ready: subsets.flatMap((s) => (s.addresses ?? []).map((a) => a.ip)),
      notReady: subsets.flatMap((s) => (s.notReadyAddresses ?? []).map((a) => a.ip)),
    };
  });
}

/** Answers per cluster (and `error`) for each protocol, as the front end counts them. */
export type CallCounts = Record<'http' | 'grpc', Record<string, number>>;

/** Where the front end at `address` serves its counts of calls started at or after `since`. */
export function statsUrl(address: string, since: number): string {
  return `http://${address}:8080/stats?since=${since}`;
}

/** The front end's counts of calls started at or after `since` (ms since the epoch). */
export async function frontendStats(
  home: string,
  cluster: string,
  address: string,
  since: number,
): Promise<CallCounts> {
  return JSON.parse(await getInCluster(home, cluster, statsUrl(address, since))) as CallCounts;
}

/** One HTTP or gRPC call from the front end, as it reports it. */
export interface CallAnswer {
  ok: boolean;
  cluster?: string;
  workload?: string;
  /** The caller identity the back end got from its proxy (`strait-client-id`). */
  caller?: string;
  error?: string;
}

/** Where the front end at `address` makes one HTTP and one gRPC call to `service`. */
export function callUrl(address: string, service: string): string {
  return `http://${address}:8080/call?service=${encodeURIComponent(service)}`;
}

/** One HTTP and one gRPC call from the front end of `cluster` to `service`. */
export async function callThroughFrontend(
  home: string,
  cluster: string,
  address: string,
  service: string,
): Promise<{ http: CallAnswer; grpc: CallAnswer }> {
  return JSON.parse(await getInCluster(home, cluster, callUrl(address, service))) as {
    http: CallAnswer;
    grpc: CallAnswer;
  };
}

/** `west: 31 (100% ok)`-style rows: per protocol, each cluster's share and the errors. */
export function formatCounts(counts: CallCounts): string {
  return (['http', 'grpc'] as const)
    .map((protocol) => {
      const row = counts[protocol] ?? {};
      const total = Object.values(row).reduce((a, b) => a + b, 0);
      const errors = row.error ?? 0;
      const clusters = Object.entries(row)
        .filter(([name]) => name !== 'error')
        .sort(([a], [b]) => b.localeCompare(a))
        .map(([name, n]) => `${name} ${n}`)
        .join(', ');
      const rate = total === 0 ? '-' : `${(((total - errors) / total) * 100).toFixed(1)}%`;
      return `${protocol.padEnd(5)} ${String(total).padStart(4)} calls: ${clusters || 'none'}; errors ${errors}; success ${rate}`;
    })
    .join('\n');
}

import type { Workload } from '../../../core/api/local.ts';
import { Kinds } from '../../../core/kinds.ts';
import type { ResourceStore } from '../../../core/store.ts';
import { workloadAddress } from '../addresses.ts';
import { portFree } from '../create-cluster.ts';

/**
 * The lowest workload address of the cluster's block that no registered
 * Workload uses and where every port in `ports` can be bound now (which
 * also catches processes of workloads that are not registered).
 */
export async function allocateWorkloadAddress(
  store: ResourceStore,
  blockIndex: number,
  ports: number[],
): Promise<string> {
  const { items } = await store.list<Workload>(Kinds.Workload);
  const used = new Set(items.map((w) => w.status?.address ?? w.spec?.address).filter((a) => a !== undefined));
  for (let n = 0; ; n++) {
    const address = workloadAddress(blockIndex, n);
    if (used.has(address)) continue;
    const free = await Promise.all(ports.map((port) => portFree(address, port)));
    if (free.every(Boolean)) return address;
  }
}

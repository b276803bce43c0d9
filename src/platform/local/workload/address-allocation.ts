import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Workload } from '../../../core/api/local.ts';
import { StraitError } from '../../../core/errors.ts';
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
  let probed = 0;
  for (let n = 0; probed < MAX_PROBED_ADDRESSES; n++) {
    const address = workloadAddress(blockIndex, n);
    if (used.has(address)) continue;
    probed++;
    const free = await Promise.all(ports.map((port) => portFree(address, port)));
    if (free.every(Boolean)) return address;
  }
  throw new StraitError(
    'E_ADDRESS_BUSY',
    `no address of block 127.${blockIndex}.0.0/16 has ports ${ports.join(', ')} free (${MAX_PROBED_ADDRESSES} tried)`,
    {
      hint: 'a process may listen on one of these ports on every address (0.0.0.0); stop it or pick other ports',
    },
  );
}

/** Free addresses are found among the first few; beyond this many, something holds a port everywhere. */
const MAX_PROBED_ADDRESSES = 32;

/** A lock older than this was left by a process that died while holding it. */
const STALE_LOCK_MS = 30_000;

/**
 * Runs `fn` holding the allocation lock of a cluster's workloads directory
 * (a directory made with mkdir, which only one process can create), so two
 * workloads started at once never register the same address.
 */
export async function withAllocationLock<T>(workloadsDir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(workloadsDir, { recursive: true });
  const lock = join(workloadsDir, '.address-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS)
          rmSync(lock, { recursive: true, force: true });
      } catch {
        // Released meanwhile: try again.
      }
      await sleep(10 + Math.random() * 40);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

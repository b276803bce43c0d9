import type { EventRecorder } from '../../../control-plane/runtime/index.ts';
import type { Workload } from '../../../core/api/local.ts';
import { Kinds } from '../../../core/kinds.ts';
import { refOf } from '../../../core/resource.ts';
import { ConflictError, type ResourceStore } from '../../../core/store.ts';

/** Annotation with the pid of the `strait local run` process that supervises a workload. */
export const SUPERVISOR_PID_ANNOTATION = 'local.strait.io/supervisor-pid';

/** Whether a process with this pid is alive on this host. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Unregisters Workloads whose processes are gone: the application, or the
 * `strait local run` process supervising it (killed without a chance to
 * clean up). Leftover processes of such a workload are stopped. Workloads
 * registered without pids (processes this host does not run) are left alone.
 */
export async function reapWorkloads(
  store: ResourceStore,
  log: (line: string) => void,
  events?: EventRecorder,
): Promise<number> {
  const { items } = await store.list<Workload>(Kinds.Workload);
  let reaped = 0;
  for (const workload of items) {
    const supervisor = Number(workload.metadata.annotations?.[SUPERVISOR_PID_ANNOTATION]);
    const pids = [
      workload.status?.pid,
      Number.isInteger(supervisor) && supervisor > 0 ? supervisor : undefined,
    ].filter((pid): pid is number => typeof pid === 'number');
    if (pids.length === 0 || pids.every(processAlive)) continue;
    for (const pid of [workload.status?.pid, workload.status?.proxyPid]) {
      if (typeof pid === 'number' && processAlive(pid)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {}
      }
    }
    if (await deleteUnchanged(store, workload)) {
      reaped++;
      log(`workload ${workload.metadata.namespace}/${workload.metadata.name} is gone: unregistered`);
      void events?.record(
        workload,
        'Warning',
        'Unregistered',
        'its process is gone; the workload was unregistered',
      );
    }
  }
  return reaped;
}

/**
 * Deletes the Workload as it was listed: one written again since then (its
 * process restarted and re-registered it) is kept.
 */
async function deleteUnchanged(store: ResourceStore, workload: Workload): Promise<boolean> {
  const { resourceVersion } = workload.metadata;
  try {
    return await store.delete(refOf(workload), resourceVersion ? { preconditions: { resourceVersion } } : {});
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
}

/** Runs reapWorkloads every `periodMs` until the signal aborts. */
export function startWorkloadReaper(
  store: ResourceStore,
  options: { signal: AbortSignal; log: (line: string) => void; periodMs?: number; events?: EventRecorder },
): void {
  const timer = setInterval(() => {
    reapWorkloads(store, options.log, options.events).catch((error: unknown) =>
      options.log(`workload reaper: ${(error as Error).message}`),
    );
  }, options.periodMs ?? 1000);
  options.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

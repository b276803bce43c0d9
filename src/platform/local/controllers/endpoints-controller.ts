import type { EventRecorder } from '../../../control-plane/runtime/index.ts';
import type { Endpoints, Service } from '../../../core/api/core.ts';
import type { Workload } from '../../../core/api/local.ts';
import { describeError } from '../../../core/errors.ts';
import { Kinds } from '../../../core/kinds.ts';
import type { ResourceStore } from '../../../core/store.ts';
import { ObjectCache } from './object-cache.ts';
import { desiredEndpoints, sameEndpoints } from './workload-endpoints.ts';

const FIELD_MANAGER = 'strait-endpoints-controller';

/**
 * Keeps the Endpoints of every Service with a selector equal to the
 * Workloads it selects. Work is done per namespace, one namespace at a time,
 * after any change to a Service or Workload in it.
 */
export async function startEndpointsController(
  store: ResourceStore,
  options: { signal: AbortSignal; log: (line: string) => void; events?: EventRecorder },
): Promise<void> {
  const dirty = new Set<string>();
  let draining = false;
  const schedule = (namespace: string | undefined) => {
    // Once stopped, nothing is reconciled: scheduling again would loop on the same namespace forever.
    if (!namespace || options.signal.aborted) return;
    dirty.add(namespace);
    if (draining) return;
    draining = true;
    void drain().finally(() => {
      draining = false;
      if (dirty.size > 0) schedule([...dirty][0]);
    });
  };
  const services = new ObjectCache<Service>(
    store,
    Kinds.Service,
    (s) => schedule(s.metadata.namespace),
    options.signal,
  );
  const workloads = new ObjectCache<Workload>(
    store,
    Kinds.Workload,
    (w) => schedule(w.metadata.namespace),
    options.signal,
  );

  async function drain(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 10));
    while (dirty.size > 0 && !options.signal.aborted) {
      const namespace = [...dirty][0] as string;
      dirty.delete(namespace);
      try {
        await reconcileNamespace(namespace);
      } catch (error) {
        options.log(`endpoints of namespace ${namespace}: ${(error as Error).message}; retrying`);
        setTimeout(() => schedule(namespace), 500);
      }
    }
  }

  async function reconcileNamespace(namespace: string): Promise<void> {
    const inNamespace = [...workloads.objects.values()].filter((w) => w.metadata.namespace === namespace);
    let failed: unknown;
    for (const service of services.objects.values()) {
      if (service.metadata.namespace !== namespace || service.metadata.deletionTimestamp) continue;
      const desired = desiredEndpoints(service, inNamespace);
      if (!desired) continue;
      try {
        const ref = { ...Kinds.Endpoints, namespace, name: service.metadata.name };
        const current = await store.get<Endpoints>(ref);
        if (current && sameEndpoints(current, desired)) continue;
        await store.apply(desired, { fieldManager: FIELD_MANAGER, force: true });
      } catch (error) {
        // One bad Service must not hold up the others: record it, go on, retry the namespace later.
        failed = error;
        void options.events?.record(service, 'Warning', 'FailedToUpdateEndpoint', describeError(error));
      }
    }
    if (failed) throw failed;
  }

  await Promise.all([services.start(options.log), workloads.start(options.log)]);
}

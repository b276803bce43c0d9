import { SharedInformer } from '../../control-plane/runtime/index.ts';
import type { Workload } from '../../core/api/local.ts';
import { Ports } from '../../core/api/names.ts';
import { describeError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';

/** The part of a Kubernetes Pod that says where its proxy's admin server is. */
type Pod = Resource<{ containers?: { name: string }[] }, { podIP?: string; phase?: string }>;

/** Metrics URL of a local workload's proxy, if it runs one and has an address. */
export function workloadMetricsUrl(workload: Workload): string | undefined {
  const address = workload.status?.address ?? workload.spec?.address;
  const proxy = workload.spec?.proxy;
  if (!proxy || !address || workload.status?.phase !== 'Running') return undefined;
  return `http://${address}:${proxy.adminPort}/metrics`;
}

/** Metrics URL of a meshed Kubernetes pod (one with a `strait-proxy` container). */
export function podMetricsUrl(pod: Pod): string | undefined {
  const meshed = pod.spec?.containers?.some((c) => c.name === 'strait-proxy');
  if (!meshed || !pod.status?.podIP || pod.status.phase !== 'Running') return undefined;
  return `http://${pod.status.podIP}:${Ports.proxyAdmin}/metrics`;
}

/**
 * Follows the meshed workloads of a cluster (local Workloads, or Kubernetes
 * Pods) and reports the metrics URLs of their proxies whenever the set
 * changes, so the operator hears from every caller without a list to keep.
 */
export class ProxyTargets {
  readonly #informer: SharedInformer<Workload> | SharedInformer<Pod>;
  readonly #urlOf: (object: Resource) => string | undefined;
  readonly #onChange: (urls: string[]) => void;
  #last = '';

  constructor(
    store: ResourceStore,
    platform: 'local' | 'kubernetes',
    onChange: (urls: string[]) => void,
    log: (line: string) => void = () => {},
  ) {
    const onError = (error: unknown) => log(`watching proxies: ${describeError(error)}`);
    this.#informer =
      platform === 'local'
        ? new SharedInformer<Workload>(store, Kinds.Workload, { onError })
        : new SharedInformer<Pod>(store, Kinds.Pod, { onError });
    this.#urlOf = (platform === 'local' ? workloadMetricsUrl : podMetricsUrl) as (
      o: Resource,
    ) => string | undefined;
    this.#onChange = onChange;
    (this.#informer as SharedInformer<Resource>).addEventHandler({
      onAdd: () => this.#report(),
      onUpdate: () => this.#report(),
      onDelete: () => this.#report(),
    });
  }

  /** The current URLs, sorted. */
  urls(): string[] {
    const all = (this.#informer as SharedInformer<Resource>).cache.list().map(this.#urlOf);
    return [...new Set(all.filter((url): url is string => url !== undefined))].sort();
  }

  start(): void {
    this.#informer.start();
  }

  stop(): Promise<void> {
    return this.#informer.stop();
  }

  #report(): void {
    const urls = this.urls();
    const joined = urls.join(' ');
    if (joined === this.#last) return;
    this.#last = joined;
    this.#onChange(urls);
  }
}

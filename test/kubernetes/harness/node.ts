import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import type { ResourceStore } from '../../../src/core/store.ts';
import type { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { Reflector } from '../../../src/platform/kubernetes/reflector.ts';
import { addLoopbackAddress, removeLoopbackAddress } from './loopback-addresses.ts';

/** The pod fields the node reads. */
export interface Pod extends Resource {
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[] };
  status?: Record<string, unknown>;
}

/** What the node runs for a pod; later suites start the app and its proxy here. */
export interface PodRuntime {
  /** Whether the runtime routes this pod's address itself (its own network namespace); otherwise the node adds it to `lo`. */
  ownsAddress?(pod: Pod): boolean;
  /**
   * Starts the pod's processes at `ip`; resolves with a stop function once they are ready. When
   * `signal` aborts first (the pod was deleted, the node stops), it stops what it started and rejects.
   */
  start(pod: Pod, ip: string, signal: AbortSignal): Promise<() => Promise<void>>;
}

export interface HarnessNodeOptions {
  store: ResourceStore;
  client: KubeClient;
  /** Node name; pods without a node are bound to it. */
  name: string;
  /**
   * First three octets of the pod addresses, e.g. `198.18.7` gives 198.18.7.2,
   * 198.18.7.3, … Not 127.0.0.0/8: EndpointSlices refuse loopback addresses.
   */
  podNetwork: string;
  runtime?: PodRuntime;
}

interface RunningPod {
  ip: string;
  stop: () => Promise<void>;
}

/**
 * Plays the kubelet of one Node for a test cluster without one: registers
 * the Node, binds unscheduled pods to it, gives each pod an address (local
 * to this machine when `runtime` runs processes for it), runs it, reports it Running and Ready in the pod status,
 * and finishes graceful deletions (which otherwise wait for a kubelet forever).
 */
export class HarnessNode {
  readonly #options: HarnessNodeOptions;
  readonly #running = new Map<string, RunningPod>();
  readonly #failures = new Map<string, string>();
  /** Each pod's latest queued work: pods start independently, one pod's events in order. */
  readonly #work = new Map<string, Promise<void>>();
  /** Pods whose processes are starting, to abandon the start when the pod goes or the node stops. */
  readonly #starting = new Map<string, AbortController>();
  readonly #reflector: Reflector<Pod>;
  #nextHost = 2;

  constructor(options: HarnessNodeOptions) {
    this.#options = options;
    this.#reflector = new Reflector<Pod>({
      store: options.store,
      kind: Kinds.Pod,
      handler: {
        upsert: (pod) => this.#queue(pod, (latest) => this.#reconcile(latest)),
        remove: (pod) => {
          this.#starting.get(`${pod.metadata.namespace}/${pod.metadata.name}`)?.abort();
          this.#queue(pod, (gone) => this.#forget(gone));
        },
      },
    });
  }

  get name(): string {
    return this.#options.name;
  }

  async start(): Promise<void> {
    const { store, name } = this.#options;
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    };
    await store.apply(node, { fieldManager: 'strait-test-node', force: true });
    const now = new Date().toISOString();
    await store.updateStatus({
      ...node,
      status: {
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: name },
        ],
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'HarnessNodeReady',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    });
    this.#reflector.start();
    await this.#reflector.hasSynced();
  }

  async stop(): Promise<void> {
    await this.#reflector.stop();
    for (const start of this.#starting.values()) start.abort();
    await Promise.all(this.#work.values());
    await Promise.all([...this.#running.values()].map((pod) => pod.stop()));
    this.#running.clear();
  }

  /** The address given to a pod, once it runs. */
  podIp(namespace: string, name: string): string | undefined {
    return this.#running.get(`${namespace}/${name}`)?.ip;
  }

  /** Why the node could not start a pod's processes, if it could not. */
  podFailure(namespace: string, name: string): string | undefined {
    return this.#failures.get(`${namespace}/${name}`);
  }

  /** Flips a running pod's Ready condition, as a failing or recovering readiness probe would. */
  async setReady(namespace: string, name: string, ready: boolean): Promise<void> {
    const running = this.#running.get(`${namespace}/${name}`);
    if (!running) throw new Error(`pod ${namespace}/${name} is not running on node ${this.name}`);
    const pod = await this.#options.store.get<Pod>({ ...Kinds.Pod, namespace, name });
    if (!pod) throw new Error(`pod ${namespace}/${name} does not exist`);
    await this.#options.store.updateStatus({ ...pod, status: runningStatus(pod, running.ip, ready) });
  }

  /**
   * Runs `task` for `pod` after the pod's earlier work, without holding up other pods: a pod
   * whose readiness probe never passes waits out its timeout alone, as with a kubelet's pod
   * workers. A task that fails is kept as the pod's failure, as a start that fails is.
   */
  #queue(pod: Pod, task: (pod: Pod) => Promise<void>): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const work = (this.#work.get(key) ?? Promise.resolve()).then(() =>
      task(pod).catch((error: unknown) => {
        this.#failures.set(key, (error as Error).message);
      }),
    );
    this.#work.set(key, work);
    void work.then(() => {
      if (this.#work.get(key) === work) this.#work.delete(key);
    });
  }

  async #reconcile(pod: Pod): Promise<void> {
    const { namespace = '', name } = pod.metadata;
    const key = `${namespace}/${name}`;
    if (pod.metadata.deletionTimestamp) {
      await this.#forget(pod);
      // Confirm the deletion the way a kubelet does once the containers are gone.
      await this.#options.client.request({
        method: 'DELETE',
        path: `/api/v1/namespaces/${namespace}/pods/${name}`,
        body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 },
      });
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      await this.#options.client.request({
        method: 'POST',
        path: `/api/v1/namespaces/${namespace}/pods/${name}/binding`,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace },
          target: { apiVersion: 'v1', kind: 'Node', name: this.name },
        },
      });
      return;
    }
    if (nodeName !== this.name || this.#running.has(key) || this.#failures.has(key)) return;
    const ip = `${this.#options.podNetwork}.${this.#nextHost++}`;
    let stop = async () => {};
    const runtime = this.#options.runtime;
    if (runtime) {
      // Processes listen on the pod address, so it must be local to this machine.
      if (!runtime.ownsAddress?.(pod)) await addLoopbackAddress(ip);
      let stopProcesses: () => Promise<void>;
      const starting = new AbortController();
      this.#starting.set(key, starting);
      try {
        stopProcesses = await runtime.start(pod, ip, starting.signal);
      } catch (error) {
        // Kept, not retried: the pod stays Pending, as a kubelet leaves a pod it cannot start.
        await removeLoopbackAddress(ip);
        this.#failures.set(key, (error as Error).message);
        return;
      } finally {
        this.#starting.delete(key);
      }
      stop = async () => {
        await stopProcesses();
        await removeLoopbackAddress(ip);
      };
    }
    this.#running.set(key, { ip, stop });
    await this.#options.store.updateStatus({ ...pod, status: runningStatus(pod, ip, true) });
  }

  async #forget(pod: Pod): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    this.#failures.delete(key);
    const running = this.#running.get(key);
    if (!running) return;
    this.#running.delete(key);
    await running.stop();
  }
}

/** The status a kubelet reports for a pod whose containers all run. */
function runningStatus(pod: Pod, ip: string, ready: boolean): Record<string, unknown> {
  const now = new Date().toISOString();
  const condition = (type: string, status: boolean) => ({
    type,
    status: status ? 'True' : 'False',
    lastTransitionTime: now,
  });
  return {
    phase: 'Running',
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: (pod.status?.startTime as string | undefined) ?? now,
    conditions: [
      condition('PodReadyToStartContainers', true),
      condition('Initialized', true),
      condition('PodScheduled', true),
      condition('ContainersReady', ready),
      condition('Ready', ready),
    ],
    containerStatuses: (pod.spec?.containers ?? []).map((container) => ({
      name: container.name,
      image: container.image ?? '',
      imageID: '',
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

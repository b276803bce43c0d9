// Shared parts of the failover tests with real processes: a local cluster in a temporary
// STRAIT_HOME, workloads, a standalone operator process and `strait failover status`.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Workload } from '../../../src/core/api/local.ts';
import type { TrafficSplit } from '../../../src/core/api/traffic.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import type { ResourceStore } from '../../../src/core/store.ts';
import { openClusterStore } from '../../../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { LocalClusters, localRunArgs } from '../../fixtures/local-clusters.ts';
import { strait, straitJson } from '../../fixtures/strait-cli.ts';

const OPERATOR = fileURLToPath(new URL('../../../src/cmd/failover.ts', import.meta.url));
export const APP = fileURLToPath(new URL('./app.mjs', import.meta.url));
export const CLIENT = fileURLToPath(new URL('./client.mjs', import.meta.url));
/** The name of the operator process these tests start, and the controlled-by value of its splits. */
export const STANDALONE_OPERATOR = 'standalone';

/** One row of `strait failover status -o json`. */
export interface StatusEntry {
  state: string;
  reason: string;
  weights: Record<string, number>;
  activeBackends: string[];
}

/** The failover status of the TrafficSplit `shop/web` at one moment, with its weights then. */
export interface RecordedState {
  state: string;
  reason: string;
  weights: Record<string, number>;
}

/**
 * Records every distinct weight vector and failover state the TrafficSplit `shop/web` takes, from
 * a watch, so a ramp whose steps pass faster than a poll, or a state that lasts only seconds, can
 * still be checked. A watch that ends early is kept in `failure` (it would otherwise surface as an
 * unhandled rejection after the test).
 */
export function recordWeights(store: ResourceStore): {
  history: Record<string, number>[];
  states: RecordedState[];
  failure: () => Error | undefined;
  stop: () => void;
} {
  const history: Record<string, number>[] = [];
  const states: RecordedState[] = [];
  let failure: Error | undefined;
  const abort = new AbortController();
  void (async () => {
    try {
      for await (const event of store.watch<TrafficSplit>(Kinds.TrafficSplit, {
        namespace: 'shop',
        signal: abort.signal,
      })) {
        if (event.object.metadata.name !== 'web' || event.type === 'BOOKMARK') continue;
        const weights = Object.fromEntries(
          (event.object.spec?.backends ?? []).map((b) => [b.service, b.weight]),
        );
        if (JSON.stringify(history.at(-1)) !== JSON.stringify(weights)) history.push(weights);
        const failover = event.object.status?.failover;
        const last = states.at(-1);
        if (failover && (last?.state !== failover.state || last?.reason !== failover.reason)) {
          states.push({ state: failover.state, reason: failover.reason, weights });
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) failure = error as Error;
    }
  })();
  return { history, states, failure: () => failure, stop: () => abort.abort() };
}

/** The weights from the last failover to the end: every step of the failback ramp. */
export function lastFailback(history: Record<string, number>[], secondary: string): Record<string, number>[] {
  const start = history.findLastIndex((weights) => weights[secondary] === 100);
  return history.slice(start);
}

export class FailoverHarness {
  readonly #clusters = new LocalClusters('strait-failover-');
  readonly home = this.#clusters.home;
  readonly cluster: string;
  #operator: ChildProcess | undefined;
  operatorLog = '';

  constructor(cluster: string) {
    this.cluster = cluster;
  }

  async up(manifests: string): Promise<void> {
    await this.#clusters.up([this.cluster]);
    await this.#clusters.apply(this.cluster, manifests);
  }

  /** Runs a store operation against the cluster through its API. */
  withStore<T>(use: (store: ResourceStore) => Promise<T>): Promise<T> {
    return this.#clusters.withStore(this.cluster, use);
  }

  /** The TrafficSplit `shop/web` as stored now. */
  split(): Promise<TrafficSplit | undefined> {
    return this.withStore((store) =>
      store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace: 'shop', name: 'web' }),
    );
  }

  /** `recordWeights` through a store client of its own, which `stop` closes. */
  recordWeights(): ReturnType<typeof recordWeights> {
    const store = openClusterStore(clusterDirectory(this.home, this.cluster));
    const recorder = recordWeights(store);
    return {
      ...recorder,
      stop: () => {
        recorder.stop();
        store.close();
      },
    };
  }

  /** `strait local run` of a workload; env is passed to the application. */
  run(name: string, port: number, command: string[], options: { proxy?: boolean; readyPath?: string } = {}) {
    return this.#clusters.start(
      localRunArgs({ cluster: this.cluster, namespace: 'shop', name, port, ...options }, command),
    );
  }

  /** The address a ready workload runs at. */
  workloadAddress(name: string): Promise<string> {
    return eventually(
      `workload ${name} ready`,
      () =>
        this.withStore(async (store) => {
          const workload = await store.get<Workload>({ ...Kinds.Workload, namespace: 'shop', name });
          return workload?.status?.ready && workload.status.address ? workload.status.address : undefined;
        }),
      180_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nworkload supervisors:\n${this.#clusters.processOutput()}`);
    });
  }

  /**
   * Starts the operator process (`src/cmd/failover.ts`) as `--name standalone`: it manages the
   * splits labelled `failover.strait.io/controlled-by: standalone`, which the operator in the
   * cluster's control plane leaves alone.
   */
  async startOperator(args: string[] = []): Promise<void> {
    const command = [OPERATOR, '--context', this.cluster, '--name', STANDALONE_OPERATOR, ...args];
    this.#operator = spawn(process.execPath, command, {
      env: { ...process.env, STRAIT_HOME: this.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#operator.stderr?.on('data', (chunk) => {
      this.operatorLog += chunk;
    });
    await once(this.#operator.stdout as NodeJS.ReadableStream, 'data');
  }

  /** Stops the operator with SIGTERM and resolves to its exit code. */
  async stopOperator(): Promise<number | null> {
    const operator = this.#operator;
    if (!operator || operator.exitCode !== null) return operator?.exitCode ?? null;
    operator.kill('SIGTERM');
    const [code] = await once(operator, 'exit');
    return code as number | null;
  }

  async status(): Promise<StatusEntry> {
    const args = ['failover', 'status', '--context', this.cluster, '-o', 'json'];
    return (await straitJson<StatusEntry[]>(this.home, args))[0] as StatusEntry;
  }

  table(): Promise<string> {
    return strait(this.home, ['failover', 'status', '--context', this.cluster]).then((r) => r.stdout);
  }

  statusWhere(what: string, check: (entry: StatusEntry) => boolean): Promise<StatusEntry> {
    return eventually(
      what,
      async () => {
        const entry = await this.status();
        return check(entry) ? entry : undefined;
      },
      120_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\noperator log:\n${this.operatorLog}`);
    });
  }

  async down(): Promise<void> {
    await this.stopOperator();
    await this.#clusters.down();
  }
}

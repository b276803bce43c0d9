import type { Endpoints, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import { Annotations, Labels, readWithAlias } from '../../core/api/names.ts';
import type { TrafficSplit, TrafficSplitStatus } from '../../core/api/traffic.ts';
import { describeError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import { objectKey, refOf } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';
import { recordEvent } from './events.ts';
import { type HealthSource, judgeHealth } from './health.ts';
import { KindCache } from './kind-cache.ts';
import { defaultFailoverPolicy, type FailoverPolicy, parseFailoverPolicy } from './policy.ts';
import { backendReadiness } from './readiness.ts';
import type { Clock } from './scraping-health.ts';
import {
  type BackendObservation,
  evaluate,
  type FailoverDecision,
  type FailoverMemory,
  memoryFromStatus,
} from './state-machine.ts';
import { normalise, sameWeights } from './weights.ts';

export interface FailoverControllerOptions {
  store: ResourceStore;
  /** Where success rate and latency come from; without one, failover is on readiness only. */
  health?: HealthSource;
  clock?: Clock;
  /** Every split is evaluated again this often; default 5 s with a health source, else 30 s. */
  resyncMs?: number;
  log?: (line: string) => void;
}

type FailoverStatus = NonNullable<TrafficSplitStatus['failover']>;

/** True for a TrafficSplit the operator manages (our label or Linkerd's). */
export function isFailoverControlled(split: TrafficSplit | undefined): boolean {
  return readWithAlias(split?.metadata.labels, Labels.failoverControlledBy) !== undefined;
}

/** The primary backend: the primary-service annotation (or Linkerd's), else the first backend. */
export function primaryOf(split: TrafficSplit): string | undefined {
  return (
    readWithAlias(split.metadata.annotations, Annotations.failoverPrimaryService) ??
    split.spec?.backends[0]?.service
  );
}

/**
 * The failover operator: watches controlled TrafficSplits, the Endpoints and
 * Services of their backends and the Links of mirrors, and writes weights,
 * `status.failover` and an Event for every transition.
 */
export class FailoverController {
  readonly #store: ResourceStore;
  readonly #health: HealthSource | undefined;
  readonly #clock: Clock;
  readonly #resyncMs: number;
  readonly #log: (line: string) => void;
  readonly #abort = new AbortController();
  readonly #splits: KindCache<TrafficSplit>;
  readonly #services: KindCache<Service>;
  readonly #endpoints: KindCache<Endpoints>;
  readonly #links: KindCache<Link>;
  readonly #memories = new Map<string, FailoverMemory>();
  readonly #warnings = new Map<string, string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #failures = new Map<string, number>();
  readonly #pending = new Set<string>();
  #working: Promise<void> | undefined;
  #resync: NodeJS.Timeout | undefined;

  constructor(options: FailoverControllerOptions) {
    this.#store = options.store;
    this.#health = options.health;
    this.#clock = options.clock ?? Date.now;
    this.#resyncMs = options.resyncMs ?? (options.health ? 5000 : 30_000);
    this.#log = options.log ?? (() => {});
    const onError = (what: string) => (error: unknown) =>
      this.#log(`watching ${what}: ${describeError(error)}`);
    this.#splits = new KindCache<TrafficSplit>(
      this.#store,
      Kinds.TrafficSplit,
      (now, before) => {
        const split = now ?? before;
        if (split && (isFailoverControlled(now) || isFailoverControlled(before)))
          this.#enqueue(objectKey(split.metadata));
      },
      onError('TrafficSplits'),
    );
    const onBackend = (now: Service | Endpoints | undefined, before: Service | Endpoints | undefined) => {
      const object = now ?? before;
      if (object) this.#enqueueUsers(object.metadata.namespace, object.metadata.name);
    };
    this.#services = new KindCache<Service>(this.#store, Kinds.Service, onBackend, onError('Services'));
    this.#endpoints = new KindCache<Endpoints>(this.#store, Kinds.Endpoints, onBackend, onError('Endpoints'));
    this.#links = new KindCache<Link>(this.#store, Kinds.Link, () => this.#enqueueAll(), onError('Links'));
  }

  /** Starts watching; resolves once every cache has its first list. */
  async start(): Promise<void> {
    const caches = [this.#services, this.#endpoints, this.#links, this.#splits];
    for (const cache of caches) cache.start(this.#abort.signal);
    await Promise.all(caches.map((cache) => cache.synced));
    this.#enqueueAll();
    this.#resync = setInterval(() => this.#enqueueAll(), this.#resyncMs);
    this.#resync.unref();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearInterval(this.#resync);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all([this.#splits, this.#services, this.#endpoints, this.#links].map((c) => c.stopped()));
    await this.#working;
  }

  #enqueue(key: string): void {
    if (this.#abort.signal.aborted) return;
    this.#pending.add(key);
    this.#working ??= this.#work().finally(() => {
      this.#working = undefined;
      if (this.#pending.size > 0) this.#enqueue([...this.#pending][0] as string);
    });
  }

  #enqueueAll(): void {
    for (const split of this.#splits.values()) {
      if (isFailoverControlled(split)) this.#enqueue(objectKey(split.metadata));
    }
  }

  #enqueueUsers(namespace: string | undefined, service: string): void {
    for (const split of this.#splits.values()) {
      if (split.metadata.namespace !== namespace || !isFailoverControlled(split)) continue;
      if (split.spec?.backends.some((b) => b.service === service)) this.#enqueue(objectKey(split.metadata));
    }
  }

  async #work(): Promise<void> {
    // One key at a time: the state machine of a split never runs twice at once.
    while (this.#pending.size > 0 && !this.#abort.signal.aborted) {
      const key = [...this.#pending][0] as string;
      this.#pending.delete(key);
      try {
        await this.#reconcile(key);
        this.#failures.delete(key);
      } catch (error) {
        const failures = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, failures);
        this.#log(`trafficsplit ${key}: ${describeError(error)}; retrying`);
        this.#schedule(key, this.#clock() + Math.min(50 * 2 ** failures, 5000));
      }
    }
  }

  #schedule(key: string, at: number): void {
    clearTimeout(this.#timers.get(key));
    const timer = setTimeout(
      () => {
        this.#timers.delete(key);
        this.#enqueue(key);
      },
      Math.max(0, at - this.#clock()),
    );
    timer.unref();
    this.#timers.set(key, timer);
  }

  async #reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const split = await this.#store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace, name });
    if (!split || !isFailoverControlled(split) || !split.spec?.backends.length) {
      this.#memories.delete(key);
      this.#warnings.delete(key);
      clearTimeout(this.#timers.get(key));
      return;
    }
    const backends = split.spec.backends;
    const names = backends.map((b) => b.service);
    let policy: FailoverPolicy;
    try {
      policy = parseFailoverPolicy(split.metadata.annotations);
    } catch (error) {
      policy = { ...defaultFailoverPolicy };
      await this.#warnOnce(split, 'InvalidFailoverPolicy', `${describeError(error)}; using the defaults`);
    }
    const primary = primaryOf(split) as string;
    if (!names.includes(primary)) {
      await this.#warnOnce(
        split,
        'PrimaryNotABackend',
        `primary service ${primary} is not a backend of the split`,
      );
      return;
    }
    const now = this.#clock();
    const observations = backends.map((backend): BackendObservation => {
      const readiness = backendReadiness(
        this.#services.get(namespace, backend.service),
        this.#endpoints.get(namespace, backend.service),
        this.#links.values(),
      );
      const sample = this.#health?.sample(namespace, backend.service, policy.healthWindowMs);
      const observation: BackendObservation = {
        service: backend.service,
        ready: readiness.ready,
        health: judgeHealth(sample, policy),
      };
      if (readiness.reason) observation.notReadyReason = readiness.reason;
      return observation;
    });
    const observation = {
      primary,
      backends: observations,
      weights: Object.fromEntries(backends.map((b) => [b.service, b.weight])),
    };
    const memory =
      this.#memories.get(key) ?? memoryFromStatus(split.status?.failover, observation, policy, now);
    const decision = evaluate(memory, observation, policy, now);
    await this.#write(split, decision, names);
    this.#memories.set(key, decision.memory);
    if (decision.recheckAt !== undefined) this.#schedule(key, decision.recheckAt);
  }

  /** Writes weights, then status, then the Event; a failure leaves the memory unchanged for a retry. */
  async #write(split: TrafficSplit, decision: FailoverDecision, names: string[]): Promise<void> {
    let latest = split;
    const spec = split.spec as NonNullable<TrafficSplit['spec']>;
    const current = normalise(Object.fromEntries(spec.backends.map((b) => [b.service, b.weight])), names);
    if (!sameWeights(current, decision.weights, names)) {
      latest = await this.#store.patch<TrafficSplit>(refOf(split), {
        metadata: { resourceVersion: split.metadata.resourceVersion },
        spec: { backends: spec.backends.map((b) => ({ ...b, weight: decision.weights[b.service] ?? 0 })) },
      });
      this.#log(`trafficsplit ${objectKey(split.metadata)}: weights ${formatWeights(decision.weights)}`);
    }
    const failover: FailoverStatus = {
      state: decision.memory.state,
      reason: decision.memory.reason,
      since: new Date(decision.memory.since).toISOString(),
      activeBackends: decision.activeBackends,
    };
    if (!sameStatus(latest.status?.failover, failover)) {
      await this.#store.updateStatus<TrafficSplit>({ ...latest, status: { ...latest.status, failover } });
    }
    const notice = decision.notice;
    if (notice) {
      await recordEvent(
        this.#store,
        split,
        notice.type,
        notice.reason,
        notice.message,
        new Date(this.#clock()),
      );
      this.#log(`trafficsplit ${objectKey(split.metadata)}: ${notice.reason}: ${notice.message}`);
    }
  }

  async #warnOnce(split: TrafficSplit, reason: string, message: string): Promise<void> {
    const key = objectKey(split.metadata);
    if (this.#warnings.get(key) === message) return;
    await recordEvent(this.#store, split, 'Warning', reason, message, new Date(this.#clock()));
    this.#warnings.set(key, message);
    this.#log(`trafficsplit ${key}: ${message}`);
  }
}

function sameStatus(a: FailoverStatus | undefined, b: FailoverStatus): boolean {
  return (
    a !== undefined &&
    a.state === b.state &&
    a.reason === b.reason &&
    a.since === b.since &&
    (a.activeBackends ?? []).join(',') === (b.activeBackends ?? []).join(',')
  );
}

/** `web=10,web-east=90`. */
export function formatWeights(weights: Record<string, number>): string {
  return Object.entries(weights)
    .map(([name, weight]) => `${name}=${weight}`)
    .join(',');
}

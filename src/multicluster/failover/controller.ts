import {
  Controller,
  EventRecorder,
  keyOf,
  type ReconcileResult,
  SharedInformer,
  splitKey,
} from '../../control-plane/runtime/index.ts';
import type { Endpoints, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import { Annotations, Labels, readWithAlias } from '../../core/api/names.ts';
import type { TrafficSplit, TrafficSplitStatus } from '../../core/api/traffic.ts';
import { describeError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import { objectKey, refOf } from '../../core/resource.ts';
import { ConflictError, type ResourceStore } from '../../core/store.ts';
import { FAILOVER_COMPONENT } from './component.ts';
import { storedFlap } from './damping.ts';
import { type Clock, type HealthSource, judgeHealth } from './health.ts';
import { defaultFailoverPolicy, type FailoverPolicy, parseFailoverPolicy } from './policy.ts';
import { backendReadiness } from './readiness.ts';
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
  /**
   * Manage only the splits whose controlled-by label has this value (see
   * `isFailoverControlled`), so that two operators never share a split;
   * without it, every labelled split.
   */
  name?: string;
}

type FailoverStatus = NonNullable<TrafficSplitStatus['failover']>;

/** The default operator name: the controlled-by value of the splits it manages. */
export const FAILOVER_OPERATOR_NAME = 'strait-failover';
/** Linkerd's operator name, taken by an operator of the default name. */
const LINKERD_OPERATOR_NAME = 'linkerd-failover';

/**
 * True for a TrafficSplit labelled for a failover operator (our label or
 * Linkerd's); with `name`, for the operator of that name.
 */
export function isFailoverControlled(split: TrafficSplit | undefined, name?: string): boolean {
  const value = readWithAlias(split?.metadata.labels, Labels.failoverControlledBy);
  if (value === undefined) return false;
  if (name === undefined || value === name) return true;
  return name === FAILOVER_OPERATOR_NAME && value === LINKERD_OPERATOR_NAME;
}

/** The primary backend: the primary-service annotation (or Linkerd's), else the first backend. */
export function primaryOf(split: TrafficSplit): string | undefined {
  return (
    readWithAlias(split.metadata.annotations, Annotations.failoverPrimaryService) ??
    split.spec?.backends[0]?.service
  );
}

const BACKEND_INDEX = 'backend';
/** Status writes race with the traffic-split validator's conditions; a few re-reads settle it. */
const STATUS_ATTEMPTS = 3;

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
  readonly #name: string | undefined;
  readonly #abort = new AbortController();
  readonly #splits: SharedInformer<TrafficSplit>;
  readonly #services: SharedInformer<Service>;
  readonly #endpoints: SharedInformer<Endpoints>;
  readonly #links: SharedInformer<Link>;
  readonly #controller: Controller;
  readonly #events: EventRecorder;
  readonly #memories = new Map<string, FailoverMemory>();
  readonly #warnings = new Map<string, string>();
  #running: Promise<void> | undefined;
  #resync: NodeJS.Timeout | undefined;

  constructor(options: FailoverControllerOptions) {
    this.#store = options.store;
    this.#health = options.health;
    this.#clock = options.clock ?? Date.now;
    this.#resyncMs = options.resyncMs ?? (options.health ? 5000 : 30_000);
    const log = options.log ?? (() => {});
    this.#log = log;
    this.#name = options.name;
    const owns = (split: TrafficSplit | undefined) => isFailoverControlled(split, this.#name);
    const onError = (what: string) => (error: unknown) => log(`watching ${what}: ${describeError(error)}`);
    this.#splits = new SharedInformer<TrafficSplit>(this.#store, Kinds.TrafficSplit, {
      indexers: {
        [BACKEND_INDEX]: (split) =>
          owns(split)
            ? (split.spec?.backends ?? []).map((b) =>
                objectKey({ namespace: split.metadata.namespace, name: b.service }),
              )
            : [],
      },
      onError: onError('TrafficSplits'),
    });
    this.#services = new SharedInformer<Service>(this.#store, Kinds.Service, {
      onError: onError('Services'),
    });
    this.#endpoints = new SharedInformer<Endpoints>(this.#store, Kinds.Endpoints, {
      onError: onError('Endpoints'),
    });
    this.#links = new SharedInformer<Link>(this.#store, Kinds.Link, { onError: onError('Links') });
    this.#events = new EventRecorder(this.#store, {
      component: FAILOVER_COMPONENT,
      now: () => new Date(this.#clock()),
      onError: (error) => log(`recording an event: ${describeError(error)}`),
    });
    this.#controller = new Controller({
      name: 'failover',
      reconcile: (key) => this.#reconcile(key),
      onError: (key, error, willRetry) =>
        log(`trafficsplit ${key}: ${describeError(error)}${willRetry ? '; retrying' : ''}`),
    });
    const users = (object: Service | Endpoints) =>
      this.#splits.cache.byIndex(BACKEND_INDEX, keyOf(object)).map(keyOf);
    this.#controller.watch(this.#splits, (split) => (owns(split) ? keyOf(split) : undefined));
    this.#controller.watch(this.#services, users);
    this.#controller.watch(this.#endpoints, users);
    this.#controller.watch(this.#links, () => this.#controlledKeys());
  }

  /** Starts watching; resolves once every informer has its first list. */
  async start(): Promise<void> {
    this.#running ??= this.#controller.run(this.#abort.signal);
    for (const informer of [this.#splits, this.#services, this.#endpoints, this.#links]) {
      await informer.waitForSync(this.#abort.signal);
    }
    this.#resync = setInterval(() => {
      for (const key of this.#controlledKeys()) this.#controller.enqueue(key);
    }, this.#resyncMs);
    this.#resync.unref();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearInterval(this.#resync);
    await this.#running;
    await Promise.all([this.#splits, this.#services, this.#endpoints, this.#links].map((i) => i.stop()));
  }

  #controlledKeys(): string[] {
    return this.#splits.cache
      .list()
      .filter((split) => isFailoverControlled(split, this.#name))
      .map(keyOf);
  }

  async #reconcile(key: string): Promise<ReconcileResult | undefined> {
    const { namespace = '', name } = splitKey(key);
    const split = await this.#store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace, name });
    if (!split || !isFailoverControlled(split, this.#name) || !split.spec?.backends.length) {
      this.#memories.delete(key);
      this.#warnings.delete(key);
      return undefined;
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
      return undefined;
    }
    const now = this.#clock();
    const links = this.#links.cache.list();
    const observations = backends.map((backend): BackendObservation => {
      const backendKey = objectKey({ namespace, name: backend.service });
      const readiness = backendReadiness(
        this.#services.cache.get(backendKey),
        this.#endpoints.cache.get(backendKey),
        links,
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
    return decision.recheckAt === undefined
      ? undefined
      : { requeueAfterMs: Math.max(1, decision.recheckAt - now) };
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
      this.#log(`trafficsplit ${keyOf(split)}: weights ${formatWeights(decision.weights)}`);
    }
    const failover: FailoverStatus = {
      state: decision.memory.state,
      reason: decision.memory.reason,
      since: new Date(decision.memory.since).toISOString(),
      activeBackends: decision.activeBackends,
    };
    if (decision.memory.flap) failover.flap = storedFlap(decision.memory.flap);
    await this.#writeStatus(latest, failover);
    const notice = decision.notice;
    if (notice) {
      await this.#events.record(split, notice.type, notice.reason, notice.message);
      this.#log(`trafficsplit ${keyOf(split)}: ${notice.reason}: ${notice.message}`);
    }
  }

  /** Sets `status.failover`, keeping what others write in the status (conditions); re-reads on a conflict. */
  async #writeStatus(split: TrafficSplit, failover: FailoverStatus): Promise<void> {
    let latest: TrafficSplit | undefined = split;
    for (let attempt = 1; latest && !sameStatus(latest.status?.failover, failover); attempt++) {
      try {
        await this.#store.updateStatus<TrafficSplit>({ ...latest, status: { ...latest.status, failover } });
        return;
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt === STATUS_ATTEMPTS) throw error;
        latest = await this.#store.get<TrafficSplit>(refOf(split));
      }
    }
  }

  async #warnOnce(split: TrafficSplit, reason: string, message: string): Promise<void> {
    const key = keyOf(split);
    if (this.#warnings.get(key) === message) return;
    await this.#events.record(split, 'Warning', reason, message);
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
    (a.activeBackends ?? []).join(',') === (b.activeBackends ?? []).join(',') &&
    a.flap?.score === b.flap?.score &&
    a.flap?.at === b.flap?.at
  );
}

/** `web=10,web-east=90`. */
export function formatWeights(weights: Record<string, number>): string {
  return Object.entries(weights)
    .map(([name, weight]) => `${name}=${weight}`)
    .join(',');
}

import type { Condition } from '../../core/api/conditions.ts';
import { setCondition } from '../../core/api/conditions.ts';
import type { HTTPRoute, TrafficSplit } from '../../core/api/traffic.ts';
import { Kinds } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';
import { ConflictError, type ResourceStore } from '../../core/store.ts';
import { EventRecorder } from '../runtime/index.ts';
import { checkTrafficAnnotations } from './annotations.ts';
import type { SplitOutcome } from './split-tracker.ts';

/** Name written as `controllerName` in HTTPRoute parent statuses and as the source of events. */
export const TRAFFIC_CONTROLLER_NAME = 'strait.io/destination';

/**
 * Reports split outcomes on the objects themselves: an `Accepted`
 * condition on TrafficSplits, `Accepted` and `ResolvedRefs` per Service
 * parent on HTTPRoutes, and an Event whenever an object turns invalid or
 * valid again. Writes are serialised; the newest outcome of an object wins.
 */
export class SplitStatusWriter {
  readonly #store: ResourceStore;
  readonly #events: EventRecorder;
  readonly #onError: (error: unknown) => void;
  readonly #pending = new Map<string, SplitOutcome>();
  readonly #reported = new Map<string, string>();
  #running: Promise<void> | undefined;

  constructor(store: ResourceStore, onError: (error: unknown) => void = () => {}) {
    this.#store = store;
    this.#onError = onError;
    this.#events = new EventRecorder(store, { component: TRAFFIC_CONTROLLER_NAME, onError });
  }

  /** Queues outcomes for writing. */
  report(outcomes: readonly SplitOutcome[]): void {
    for (const outcome of outcomes) this.#pending.set(outcome.source.uid, outcome);
    if (this.#pending.size > 0 && !this.#running) this.#running = this.#drain();
  }

  /**
   * Records a Warning Event on a Service whose traffic annotations do not
   * parse (once per distinct set of problems), and a Normal one when fixed.
   */
  reportServiceAnnotations(service: Resource, deleted: boolean): void {
    const uid = service.metadata.uid ?? `${service.metadata.namespace}/${service.metadata.name}`;
    const key = `Service:${uid}`;
    if (deleted) {
      this.#reported.delete(key);
      return;
    }
    const problems = checkTrafficAnnotations(service.metadata.annotations);
    const summary = problems.join('; ');
    const previous = this.#reported.get(key);
    if (previous === summary || (previous === undefined && summary === '')) return;
    this.#reported.set(key, summary);
    const write =
      summary === ''
        ? this.#events.record(service, 'Normal', 'AnnotationsValid', 'traffic annotations are valid again')
        : this.#events.record(service, 'Warning', 'InvalidAnnotation', `${summary}; defaults apply instead`);
    void write.catch(this.#onError);
  }

  /** Resolves when every queued outcome has been written (or failed). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.size > 0) {
        const [uid, outcome] = this.#pending.entries().next().value as [string, SplitOutcome];
        this.#pending.delete(uid);
        try {
          await this.#write(outcome);
        } catch (error) {
          this.#onError(error);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #write(outcome: SplitOutcome): Promise<void> {
    const condition = acceptedCondition(outcome);
    for (let attempt = 0; attempt < 5; attempt++) {
      const kind = outcome.source.kind === 'TrafficSplit' ? Kinds.TrafficSplit : Kinds.HTTPRoute;
      const current = await this.#store.get<TrafficSplit | HTTPRoute>({
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        namespace: outcome.source.namespace,
        name: outcome.source.name,
      });
      if (!current || current.metadata.uid !== outcome.source.uid) return;
      try {
        if (current.kind === 'TrafficSplit') await this.#writeSplit(current as TrafficSplit, condition);
        else await this.#writeRoute(current as HTTPRoute, outcome, condition);
        await this.#recordEvent(current, outcome, condition);
        return;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
  }

  async #writeSplit(split: TrafficSplit, condition: Omit<Condition, 'lastTransitionTime'>): Promise<void> {
    const conditions = setCondition(split.status?.conditions, condition);
    if (JSON.stringify(conditions) === JSON.stringify(split.status?.conditions)) return;
    await this.#store.updateStatus({ ...split, status: { ...split.status, conditions } });
  }

  async #writeRoute(
    route: HTTPRoute,
    outcome: SplitOutcome,
    condition: Omit<Condition, 'lastTransitionTime'>,
  ): Promise<void> {
    const others = (route.status?.parents ?? []).filter((p) => p.controllerName !== TRAFFIC_CONTROLLER_NAME);
    const ours = (route.status?.parents ?? []).filter((p) => p.controllerName === TRAFFIC_CONTROLLER_NAME);
    const resolved = {
      type: 'ResolvedRefs',
      status: outcome.problems.length === 0 ? ('True' as const) : ('False' as const),
      reason: outcome.problems[0]?.reason ?? 'ResolvedRefs',
      message: outcome.problems.length === 0 ? 'every backend resolved' : condition.message,
      ...(outcome.source.generation === undefined ? {} : { observedGeneration: outcome.source.generation }),
    };
    const accepted = {
      ...condition,
      status: 'True' as const,
      reason: 'Accepted',
      message: 'attached to the service',
    };
    const parents = outcome.apexes.map((apex) => {
      const name = apex.slice(apex.indexOf('/') + 1);
      const previous = ours.find((p) => p.parentRef.name === name);
      const conditions = setCondition(setCondition(previous?.conditions, accepted), resolved);
      return { parentRef: { name, kind: 'Service' }, controllerName: TRAFFIC_CONTROLLER_NAME, conditions };
    });
    if (JSON.stringify(parents) === JSON.stringify(ours)) return;
    await this.#store.updateStatus({
      ...route,
      status: { ...route.status, parents: [...others, ...parents] },
    });
  }

  async #recordEvent(
    object: TrafficSplit | HTTPRoute,
    outcome: SplitOutcome,
    condition: Omit<Condition, 'lastTransitionTime'>,
  ): Promise<void> {
    const summary = `${condition.status}/${condition.reason}/${condition.message}`;
    const previous = this.#reported.get(outcome.source.uid);
    if (previous === summary) return;
    this.#reported.set(outcome.source.uid, summary);
    const healthy = condition.status === 'True' && outcome.annotationProblems.length === 0;
    if (healthy && previous === undefined) return;
    await this.#events.record(object, healthy ? 'Normal' : 'Warning', condition.reason, condition.message);
  }
}

/** The `Accepted` condition an outcome earns. */
export function acceptedCondition(outcome: SplitOutcome): Omit<Condition, 'lastTransitionTime'> {
  const generation =
    outcome.source.generation === undefined ? {} : { observedGeneration: outcome.source.generation };
  if (outcome.problems.length > 0) {
    const serving = outcome.servingLastGood
      ? 'the last good split keeps being served'
      : 'no split is served until this is fixed';
    return {
      type: 'Accepted',
      status: 'False',
      reason: outcome.problems[0]?.reason ?? 'Invalid',
      message: `${outcome.problems.map((p) => p.message).join('; ')}; ${serving}`,
      ...generation,
    };
  }
  const annotations =
    outcome.annotationProblems.length > 0 ? `; ignored: ${outcome.annotationProblems.join('; ')}` : '';
  return {
    type: 'Accepted',
    status: 'True',
    reason: outcome.annotationProblems.length > 0 ? 'InvalidAnnotation' : 'Accepted',
    message: `${outcome.serving ? 'backends resolved and served' : 'no weighted backends'}${annotations}`,
    ...generation,
  };
}

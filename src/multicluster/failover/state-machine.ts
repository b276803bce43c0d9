import { formatAge } from '../../core/duration.ts';
import { type FlapScore, flapFromStatus, holdDownFor, recordFlap, type StoredFlap } from './damping.ts';
import type { HealthVerdict } from './health.ts';
import { type FailoverPolicy, TOTAL_WEIGHT } from './policy.ts';
import { capShift, normalise, spread, type Weights } from './weights.ts';

export type FailoverState = 'Primary' | 'Failover' | 'FailingBack';

/** What the operator sees of one backend of a TrafficSplit. */
export interface BackendObservation {
  service: string;
  ready: boolean;
  /** Why it is not ready, for status and events ("no ready endpoints", "gateway of link east is down"). */
  notReadyReason?: string;
  health: HealthVerdict;
}

export interface Observation {
  primary: string;
  /** Every backend in spec order, the primary included. */
  backends: BackendObservation[];
  /** Weights currently in the TrafficSplit's spec. */
  weights: Weights;
}

/** What the state machine remembers about one TrafficSplit between evaluations. */
export interface FailoverMemory {
  state: FailoverState;
  reason: string;
  /** When `state` was entered (ms since the epoch). */
  since: number;
  flap: FlapScore | undefined;
  /** Since when the primary has been ready and not unhealthy without a break. */
  primaryGoodSince: number | undefined;
  /** Index into the policy's ramp steps while FailingBack. */
  rampStep: number;
  stepStartedAt: number;
  /** Last time weight moved toward a degrading backend under the cap. */
  lastCappedShiftAt: number | undefined;
}

/** A change worth an Event: every state change, each failback step, and losing every backend. */
export interface FailoverNotice {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  from: FailoverState;
  to: FailoverState;
}

export interface FailoverDecision {
  memory: FailoverMemory;
  /** Weights to write, over every backend, adding up to TOTAL_WEIGHT. */
  weights: Weights;
  activeBackends: string[];
  notice?: FailoverNotice;
  /** Evaluate again at this time (ms since the epoch) even if nothing else changes. */
  recheckAt?: number;
}

/** Memory of a split seen for the first time: it starts (or resumes) in Primary. */
export function initialMemory(now: number): FailoverMemory {
  return {
    state: 'Primary',
    reason: 'Initial',
    since: now,
    flap: undefined,
    primaryGoodSince: undefined,
    rampStep: 0,
    stepStartedAt: now,
    lastCappedShiftAt: undefined,
  };
}

/**
 * Memory rebuilt from a TrafficSplit's status after the operator restarts.
 * A failover in progress keeps its state but its hold-down starts again,
 * damped by the stored flap score; a failback resumes from the step matching
 * the primary's current weight.
 */
export function memoryFromStatus(
  status: { state: FailoverState; reason: string; since: string; flap?: StoredFlap } | undefined,
  observation: Observation,
  policy: FailoverPolicy,
  now: number,
): FailoverMemory {
  const memory = initialMemory(now);
  if (!status) return memory;
  const since = Date.parse(status.since);
  memory.state = status.state;
  memory.reason = status.reason;
  memory.since = Number.isNaN(since) ? now : since;
  memory.flap =
    flapFromStatus(status.flap) ?? (status.state === 'Primary' ? undefined : { score: 1, at: memory.since });
  if (status.state === 'FailingBack') {
    const names = observation.backends.map((b) => b.service);
    const share = normalise(observation.weights, names)[observation.primary] ?? 0;
    const reached = policy.rampSteps.findLastIndex((step) => step <= share);
    memory.rampStep = Math.max(0, reached);
  }
  return memory;
}

/**
 * Decides the weights of one TrafficSplit from what is observed now. Pure:
 * the same memory, observation, policy and time give the same decision.
 */
export function evaluate(
  previous: FailoverMemory,
  observation: Observation,
  policy: FailoverPolicy,
  now: number,
): FailoverDecision {
  const memory: FailoverMemory = { ...previous };
  const names = observation.backends.map((b) => b.service);
  const current = normalise(observation.weights, names);
  const primary = observation.backends.find((b) => b.service === observation.primary) ?? {
    service: observation.primary,
    ready: false,
    notReadyReason: 'not a backend of the split',
    health: { status: 'unknown', detail: '' },
  };
  const primaryOk = primary.ready && primary.health.status !== 'unhealthy';
  const trouble = primary.ready
    ? { reason: 'PrimaryUnhealthy', detail: primary.health.detail }
    : { reason: 'PrimaryNotReady', detail: primary.notReadyReason ?? 'no ready endpoints' };
  const secondaries = observation.backends.filter((b) => b.service !== primary.service && b.ready);
  // Every time a good primary goes bad is a flap, also while it is held down.
  if (!primaryOk && memory.primaryGoodSince !== undefined && memory.state === 'Failover') {
    memory.flap = recordFlap(memory.flap, now, policy);
  }
  memory.primaryGoodSince = primaryOk ? (memory.primaryGoodSince ?? now) : undefined;

  const decide = (weights: Weights, notice?: FailoverNotice, recheckAt?: number): FailoverDecision => {
    const full: Weights = Object.fromEntries(names.map((name) => [name, weights[name] ?? 0]));
    const decision: FailoverDecision = {
      memory,
      weights: full,
      activeBackends: names.filter((name) => (full[name] ?? 0) > 0),
    };
    if (notice) decision.notice = notice;
    if (recheckAt !== undefined) decision.recheckAt = recheckAt;
    return decision;
  };
  const enter = (state: FailoverState, reason: string) => {
    memory.state = state;
    memory.reason = reason;
    memory.since = now;
  };
  const notice = (
    from: FailoverState,
    type: FailoverNotice['type'],
    reason: string,
    message: string,
  ): FailoverNotice => ({ type, reason, message, from, to: memory.state });
  const allOnPrimary: Weights = { [primary.service]: TOTAL_WEIGHT };

  /** Weight spread over the ready secondaries, at most `share` of the total, under the degrading cap. */
  const toSecondaries = (primaryShare: number): { weights: Weights; recheckAt?: number } => {
    const target: Weights = {
      ...spread(
        TOTAL_WEIGHT - primaryShare,
        secondaries.map((b) => b.service),
      ),
    };
    if (primaryShare > 0) target[primary.service] = primaryShare;
    const degrading = new Set(
      secondaries.filter((b) => b.health.status === 'unhealthy').map((b) => b.service),
    );
    if (degrading.size === 0) return { weights: target };
    const mayShift =
      memory.lastCappedShiftAt === undefined || now - memory.lastCappedShiftAt >= policy.rampStepIntervalMs;
    const steady = secondaries.filter((b) => !degrading.has(b.service)).map((b) => b.service);
    const absorbers = steady.length > 0 ? steady : primary.ready ? [primary.service] : [];
    const capped = capShift(current, target, degrading, mayShift ? policy.maxShiftToDegrading : 0, absorbers);
    if (!capped.capped) return { weights: capped.weights };
    if (mayShift) memory.lastCappedShiftAt = now;
    return {
      weights: capped.weights,
      recheckAt: (memory.lastCappedShiftAt ?? now) + policy.rampStepIntervalMs,
    };
  };

  const noBackend = (): FailoverDecision => {
    const from = memory.state;
    if (memory.reason === 'NoReadyBackend') return decide(current);
    memory.reason = 'NoReadyBackend';
    return decide(
      current,
      notice(from, 'Warning', 'NoReadyBackend', 'no backend has ready endpoints; keeping the last weights'),
    );
  };

  const failOver = (reason: string, message: string): FailoverDecision => {
    const from = memory.state;
    memory.flap = recordFlap(memory.flap, now, policy);
    enter('Failover', reason);
    const next = toSecondaries(0);
    const active = Object.keys(next.weights).filter((name) => (next.weights[name] ?? 0) > 0);
    const holdDown = formatHoldDown(holdDownFor(memory.flap, now, policy));
    return decide(
      next.weights,
      notice(
        from,
        'Warning',
        reason === 'RampAborted' ? 'FailbackAborted' : 'FailedOver',
        `${message}; traffic to ${active.join(', ')}; failback after ${holdDown} of good health`,
      ),
      next.recheckAt,
    );
  };

  const backToPrimaryAtOnce = (): FailoverDecision => {
    const from = memory.state;
    enter('Primary', 'SecondariesNotReady');
    return decide(
      allOnPrimary,
      notice(
        from,
        'Warning',
        'SecondariesNotReady',
        `no secondary is ready; all traffic back to ${primary.service}`,
      ),
    );
  };

  const startFailback = (): FailoverDecision => {
    const from = memory.state;
    memory.rampStep = 0;
    memory.stepStartedAt = now;
    const share = policy.rampSteps[0] ?? TOTAL_WEIGHT;
    if (share >= TOTAL_WEIGHT) {
      enter('Primary', 'PrimaryRecovered');
      return decide(
        allOnPrimary,
        notice(from, 'Normal', 'FailedBack', `${primary.service} recovered; all traffic back`),
      );
    }
    enter('FailingBack', 'HoldDownElapsed');
    const next = toSecondaries(share);
    return decide(
      next.weights,
      notice(
        from,
        'Normal',
        'FailbackStarted',
        `${primary.service} good for the hold-down; ${share}% back to it`,
      ),
      memory.stepStartedAt + policy.rampStepIntervalMs,
    );
  };

  switch (memory.state) {
    case 'Primary': {
      if (primaryOk) {
        if (['Initial', 'NoReadyBackend', 'NoReadySecondary'].includes(memory.reason))
          memory.reason = 'PrimaryReady';
        return decide(allOnPrimary);
      }
      if (secondaries.length > 0) return failOver(trouble.reason, `${primary.service}: ${trouble.detail}`);
      if (!primary.ready) return noBackend();
      if (memory.reason !== 'NoReadySecondary') {
        memory.reason = 'NoReadySecondary';
        return decide(
          allOnPrimary,
          notice(
            'Primary',
            'Warning',
            'NoReadySecondary',
            `${primary.service}: ${trouble.detail}, but no secondary is ready; traffic stays`,
          ),
        );
      }
      return decide(allOnPrimary);
    }
    case 'Failover': {
      if (secondaries.length === 0) return primary.ready ? backToPrimaryAtOnce() : noBackend();
      const goodSince = memory.primaryGoodSince;
      // Fixed when the primary turned good, so decay during the hold-down does not shorten it.
      const holdDown = holdDownFor(memory.flap, goodSince ?? now, policy);
      if (goodSince !== undefined && now - goodSince >= holdDown) return startFailback();
      memory.reason = goodSince === undefined ? trouble.reason : 'HoldingDown';
      const next = toSecondaries(0);
      const holdDownEnds = goodSince === undefined ? undefined : goodSince + holdDown;
      return decide(next.weights, undefined, earliest(holdDownEnds, next.recheckAt));
    }
    case 'FailingBack': {
      if (!primaryOk) {
        if (secondaries.length === 0) return primary.ready ? backToPrimaryAtOnce() : noBackend();
        const step = policy.rampSteps[memory.rampStep] ?? 0;
        return failOver(
          'RampAborted',
          `failback aborted at ${step}% on ${primary.service}: ${trouble.detail}`,
        );
      }
      if (secondaries.length === 0) return backToPrimaryAtOnce();
      let stepped = false;
      const evidence = !policy.rampNeedsEvidence || primary.health.status === 'healthy';
      if (evidence && now - memory.stepStartedAt >= policy.rampStepIntervalMs) {
        memory.rampStep = Math.min(memory.rampStep + 1, policy.rampSteps.length - 1);
        memory.stepStartedAt = now;
        stepped = true;
      }
      const share = policy.rampSteps[memory.rampStep] ?? TOTAL_WEIGHT;
      if (share >= TOTAL_WEIGHT) {
        enter('Primary', 'RampCompleted');
        return decide(
          allOnPrimary,
          notice(
            'FailingBack',
            'Normal',
            'FailedBack',
            `failback complete; all traffic on ${primary.service}`,
          ),
        );
      }
      memory.reason = evidence ? 'Ramping' : 'AwaitingEvidence';
      const next = toSecondaries(share);
      const stepNotice = stepped
        ? notice('FailingBack', 'Normal', 'FailbackStep', `${share}% of traffic on ${primary.service}`)
        : undefined;
      return decide(next.weights, stepNotice, memory.stepStartedAt + policy.rampStepIntervalMs);
    }
  }
}

/** 500ms, 45s, 3m: the hold-down as people read it. */
function formatHoldDown(ms: number): string {
  return ms < 1000 ? `${ms}ms` : formatAge(ms);
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

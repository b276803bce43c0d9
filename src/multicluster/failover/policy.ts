import { parseDuration } from '../../core/duration.ts';
import { StraitError } from '../../core/errors.ts';

/** Weights the operator writes always add up to this, so they read as percentages. */
export const TOTAL_WEIGHT = 100;

/** Annotations (on the TrafficSplit) that tune the operator beyond Linkerd's behaviour. */
export const FailoverAnnotations = {
  holdDown: 'failover.strait.io/hold-down',
  maxHoldDown: 'failover.strait.io/max-hold-down',
  flapHalfLife: 'failover.strait.io/flap-half-life',
  rampSteps: 'failover.strait.io/ramp-steps',
  rampStepInterval: 'failover.strait.io/ramp-step-interval',
  healthWindow: 'failover.strait.io/health-window',
  minSuccessRate: 'failover.strait.io/min-success-rate',
  maxP99Latency: 'failover.strait.io/max-p99-latency',
  minRequests: 'failover.strait.io/min-requests',
  maxShiftToDegrading: 'failover.strait.io/max-shift-to-degrading',
  rampNeedsEvidence: 'failover.strait.io/ramp-needs-evidence',
} as const;

/** How one TrafficSplit fails over and back. Durations are in milliseconds. */
export interface FailoverPolicy {
  /** How long the primary must stay good before failback starts (first failover). */
  holdDownMs: number;
  /** Upper bound of the hold-down however often the primary flaps. */
  maxHoldDownMs: number;
  /** Time for the flap score to halve. */
  flapHalfLifeMs: number;
  /** Share of weight (percent) on the primary at each failback step; the last is 100. */
  rampSteps: number[];
  /** Time between failback steps, and between capped shifts toward a degrading backend. */
  rampStepIntervalMs: number;
  /** Window over which success rate and latency are measured. */
  healthWindowMs: number;
  /** A backend whose success rate falls below this is unhealthy (0 disables). */
  minSuccessRate: number;
  /** A backend whose p99 latency exceeds this is unhealthy (undefined disables). */
  maxP99LatencyMs: number | undefined;
  /** Fewer requests than this in the window give no verdict. */
  minRequests: number;
  /** Most weight (percentage points) moved toward an unhealthy secondary per step interval. */
  maxShiftToDegrading: number;
  /** Advance a failback step only on a healthy verdict (enough requests), not on no verdict. */
  rampNeedsEvidence: boolean;
}

export const defaultFailoverPolicy: Readonly<FailoverPolicy> = Object.freeze({
  holdDownMs: 60_000,
  maxHoldDownMs: 30 * 60_000,
  flapHalfLifeMs: 15 * 60_000,
  rampSteps: [10, 25, 50, 100],
  rampStepIntervalMs: 30_000,
  healthWindowMs: 30_000,
  minSuccessRate: 0.9,
  maxP99LatencyMs: undefined,
  minRequests: 20,
  maxShiftToDegrading: 25,
  rampNeedsEvidence: false,
});

/** An annotation of a TrafficSplit that the operator cannot use. */
export class FailoverPolicyError extends StraitError {
  readonly annotation: string;
  constructor(annotation: string, value: string, reason: string, hint: string) {
    super('E_FAILOVER_ANNOTATION', `annotation ${annotation}="${value}": ${reason}`, { hint });
    this.name = 'FailoverPolicyError';
    this.annotation = annotation;
  }
}

/**
 * Reads the policy from a TrafficSplit's annotations; absent annotations take
 * the defaults. Throws FailoverPolicyError naming the first bad annotation.
 */
export function parseFailoverPolicy(annotations: Record<string, string> | undefined): FailoverPolicy {
  const values = annotations ?? {};
  const policy: FailoverPolicy = {
    ...defaultFailoverPolicy,
    rampSteps: [...defaultFailoverPolicy.rampSteps],
  };
  const read = <T>(name: string, parse: (text: string) => T): T | undefined => {
    const text = values[name];
    return text === undefined ? undefined : parse(text.trim());
  };
  const duration = (name: string) => (text: string) => {
    try {
      return parseDuration(text, name);
    } catch {
      throw new FailoverPolicyError(
        name,
        text,
        'is not a duration',
        'write a duration such as 500ms, 30s or 5m',
      );
    }
  };
  const number = (name: string, min: number, max: number, hint: string) => (text: string) => {
    const value = Number(text);
    if (text === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new FailoverPolicyError(name, text, `must be a number from ${min} to ${max}`, hint);
    }
    return value;
  };
  const A = FailoverAnnotations;
  policy.holdDownMs = read(A.holdDown, duration(A.holdDown)) ?? policy.holdDownMs;
  policy.maxHoldDownMs = read(A.maxHoldDown, duration(A.maxHoldDown)) ?? policy.maxHoldDownMs;
  policy.flapHalfLifeMs = read(A.flapHalfLife, duration(A.flapHalfLife)) ?? policy.flapHalfLifeMs;
  policy.rampStepIntervalMs =
    read(A.rampStepInterval, duration(A.rampStepInterval)) ?? policy.rampStepIntervalMs;
  policy.healthWindowMs = read(A.healthWindow, duration(A.healthWindow)) ?? policy.healthWindowMs;
  policy.maxP99LatencyMs = read(A.maxP99Latency, duration(A.maxP99Latency)) ?? policy.maxP99LatencyMs;
  policy.minSuccessRate =
    read(A.minSuccessRate, number(A.minSuccessRate, 0, 1, 'write a fraction such as 0.95; 0 disables')) ??
    policy.minSuccessRate;
  policy.minRequests =
    read(A.minRequests, number(A.minRequests, 1, 1e9, 'write a whole number of requests such as 20')) ??
    policy.minRequests;
  policy.maxShiftToDegrading =
    read(
      A.maxShiftToDegrading,
      number(A.maxShiftToDegrading, 1, TOTAL_WEIGHT, 'write percentage points per step, such as 25'),
    ) ?? policy.maxShiftToDegrading;
  policy.rampSteps = read(A.rampSteps, parseRampSteps) ?? policy.rampSteps;
  policy.rampNeedsEvidence =
    read(A.rampNeedsEvidence, (text) => {
      if (text !== 'true' && text !== 'false') {
        throw new FailoverPolicyError(
          A.rampNeedsEvidence,
          text,
          'must be true or false',
          'write "true" or "false"',
        );
      }
      return text === 'true';
    }) ?? policy.rampNeedsEvidence;
  if (policy.maxHoldDownMs < policy.holdDownMs) policy.maxHoldDownMs = policy.holdDownMs;
  if (policy.flapHalfLifeMs === 0) {
    throw new FailoverPolicyError(
      A.flapHalfLife,
      values[A.flapHalfLife] ?? '',
      'must be longer than 0',
      'try 15m',
    );
  }
  return policy;
}

function parseRampSteps(text: string): number[] {
  const name = FailoverAnnotations.rampSteps;
  const hint = 'list rising percentages of weight on the primary, such as 10,25,50,100';
  const steps = text.split(',').map((part) => Number(part.trim().replace(/%$/, '')));
  if (steps.some((step) => !Number.isInteger(step) || step < 1 || step > TOTAL_WEIGHT)) {
    throw new FailoverPolicyError(name, text, 'each step must be a whole percentage from 1 to 100', hint);
  }
  if (steps.some((step, i) => i > 0 && step <= (steps[i - 1] as number))) {
    throw new FailoverPolicyError(name, text, 'steps must rise', hint);
  }
  if (steps.at(-1) !== TOTAL_WEIGHT) steps.push(TOTAL_WEIGHT);
  return steps;
}

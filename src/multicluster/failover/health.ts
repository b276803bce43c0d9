import type { FailoverPolicy } from './policy.ts';

/** Milliseconds since the epoch; injectable so tests decide what time it is. */
export type Clock = () => number;

/** What callers of one backend service observed over a window. */
export interface HealthSample {
  /** Responses counted in the window. */
  requests: number;
  /** Successful responses / all responses; undefined without responses. */
  successRate: number | undefined;
  /** 99th percentile response latency in milliseconds; undefined without a histogram. */
  latencyP99Ms: number | undefined;
}

/** Where the operator learns how a backend is doing, e.g. by scraping the proxies' metrics. */
export interface HealthSource {
  /** Health of calls to `service` in `namespace` over the last `windowMs`; undefined when unknown. */
  sample(namespace: string, service: string, windowMs: number): HealthSample | undefined;
}

export type HealthVerdict =
  | { status: 'healthy' | 'unknown'; detail: string }
  | { status: 'unhealthy'; detail: string };

/** Judges a sample against the policy's thresholds; too few requests give no verdict. */
export function judgeHealth(sample: HealthSample | undefined, policy: FailoverPolicy): HealthVerdict {
  if (!sample || sample.requests < policy.minRequests) {
    return { status: 'unknown', detail: `fewer than ${policy.minRequests} requests in the window` };
  }
  const window = `${Math.round(policy.healthWindowMs / 1000)}s`;
  if (
    policy.minSuccessRate > 0 &&
    sample.successRate !== undefined &&
    sample.successRate < policy.minSuccessRate
  ) {
    return {
      status: 'unhealthy',
      detail: `success rate ${sample.successRate.toFixed(3)} < ${policy.minSuccessRate} over ${window}`,
    };
  }
  if (
    policy.maxP99LatencyMs !== undefined &&
    sample.latencyP99Ms !== undefined &&
    sample.latencyP99Ms > policy.maxP99LatencyMs
  ) {
    return {
      status: 'unhealthy',
      detail: `p99 latency ${Math.round(sample.latencyP99Ms)}ms > ${policy.maxP99LatencyMs}ms over ${window}`,
    };
  }
  return { status: 'healthy', detail: 'within thresholds' };
}

import { parseDuration } from '../../core/duration.ts';
import { StraitError } from '../../core/errors.ts';

/** Annotations that tune routes and retries (documented in docs/traffic.md). */
export const TrafficAnnotations = {
  /** Request timeout of a route (HTTPRoute) or of every request to a service (Service): `500ms`, `3s`. */
  requestTimeout: 'timeout.strait.io/request',
  /** Response statuses that make a request retryable: `5xx`, `502-504`, `503,504`, `gateway-error`. */
  retryHttp: 'retry.strait.io/http',
  /** gRPC statuses that make a call retryable: `unavailable,resource-exhausted`, or codes `14,8`. */
  retryGrpc: 'retry.strait.io/grpc',
  /** Retry budget of a service: extra load retries may add, as a fraction of requests. */
  budgetRatio: 'retry.strait.io/budget-ratio',
  /** Retry budget of a service: retries per second always allowed. */
  budgetMinPerSecond: 'retry.strait.io/budget-min-per-second',
  /** Retry budget of a service: window over which requests and retries are counted. */
  budgetTtl: 'retry.strait.io/budget-ttl',
} as const;

/** Linkerd's retry budget: retries add at most 20% load, plus 10 per second, over a 10 s window. */
export const DEFAULT_RETRY_BUDGET = { ratio: 0.2, minPerSecond: 10, ttlMs: 10_000 } as const;

export interface RetryBudgetValue {
  ratio: number;
  minPerSecond: number;
  ttlMs: number;
}

/** A traffic annotation with a value that cannot be used. */
export class TrafficAnnotationError extends StraitError {
  readonly annotation: string;
  constructor(annotation: string, value: string, reason: string) {
    super('E_TRAFFIC_ANNOTATION', `annotation ${annotation}: "${value}" ${reason}`, {
      hint: 'see docs/traffic.md for the accepted values',
    });
    this.name = 'TrafficAnnotationError';
    this.annotation = annotation;
  }
}

/** Parses a status-range list into inclusive ranges. */
export function parseStatusRanges(value: string): [number, number][] {
  const ranges: [number, number][] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === 'gateway-error') ranges.push([502, 504]);
    else if (/^[1-5]xx$/.test(entry)) {
      const base = Number(entry[0]) * 100;
      ranges.push([base, base + 99]);
    } else {
      const match = entry.match(/^(\d{3})(?:-(\d{3}))?$/);
      const low = Number(match?.[1]);
      const high = Number(match?.[2] ?? match?.[1]);
      if (!match || low < 100 || high > 599 || low > high) {
        throw new TrafficAnnotationError(
          TrafficAnnotations.retryHttp,
          value,
          `has "${raw.trim()}", not a status, range or class`,
        );
      }
      ranges.push([low, high]);
    }
  }
  return ranges;
}

/** gRPC status codes by their annotation names (the spec's names, lower-case, `-` for `_`). */
const GRPC_STATUS_CODES: Record<string, number> = {
  cancelled: 1,
  unknown: 2,
  'invalid-argument': 3,
  'deadline-exceeded': 4,
  'not-found': 5,
  'already-exists': 6,
  'permission-denied': 7,
  'resource-exhausted': 8,
  'failed-precondition': 9,
  aborted: 10,
  'out-of-range': 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  'data-loss': 15,
  unauthenticated: 16,
};

/** Parses a list of gRPC statuses (names or codes 1–16; OK is never a failure) into codes. */
export function parseGrpcStatuses(value: string): number[] {
  const codes = new Set<number>();
  for (const raw of value.split(',')) {
    const entry = raw.trim().toLowerCase().replaceAll('_', '-');
    const code = /^\d+$/.test(entry) ? Number(entry) : GRPC_STATUS_CODES[entry];
    if (code === undefined || code < 1 || code > 16) {
      throw new TrafficAnnotationError(
        TrafficAnnotations.retryGrpc,
        value,
        `has "${raw.trim()}", not a gRPC status other than OK (a name such as unavailable, or a code 1-16)`,
      );
    }
    codes.add(code);
  }
  return [...codes].sort((a, b) => a - b);
}

/** Parses a timeout annotation into milliseconds. */
export function parseTimeout(value: string): number {
  try {
    const ms = parseDuration(value, TrafficAnnotations.requestTimeout);
    if (ms <= 0) throw new Error('zero');
    return ms;
  } catch {
    throw new TrafficAnnotationError(
      TrafficAnnotations.requestTimeout,
      value,
      'is not a positive duration such as 500ms or 3s',
    );
  }
}

/** The retry budget a service's annotations ask for, defaults filling the rest. */
export function parseRetryBudget(annotations: Record<string, string> | undefined): RetryBudgetValue {
  const budget: RetryBudgetValue = { ...DEFAULT_RETRY_BUDGET };
  const ratio = annotations?.[TrafficAnnotations.budgetRatio];
  if (ratio !== undefined) {
    const value = Number(ratio);
    if (!Number.isFinite(value) || value < 0 || value > 1 || ratio.trim() === '') {
      throw new TrafficAnnotationError(
        TrafficAnnotations.budgetRatio,
        ratio,
        'is not a fraction between 0 and 1',
      );
    }
    budget.ratio = value;
  }
  const min = annotations?.[TrafficAnnotations.budgetMinPerSecond];
  if (min !== undefined) {
    if (!/^\d+$/.test(min.trim())) {
      throw new TrafficAnnotationError(TrafficAnnotations.budgetMinPerSecond, min, 'is not a whole number');
    }
    budget.minPerSecond = Number(min);
  }
  const ttl = annotations?.[TrafficAnnotations.budgetTtl];
  if (ttl !== undefined) {
    try {
      budget.ttlMs = parseDuration(ttl, TrafficAnnotations.budgetTtl);
    } catch {
      throw new TrafficAnnotationError(TrafficAnnotations.budgetTtl, ttl, 'is not a duration such as 10s');
    }
  }
  return budget;
}

/**
 * Every problem with the traffic annotations of an object, as messages.
 * Used to report bad values in status and events; the profile falls back
 * to defaults for each value that does not parse.
 */
export function checkTrafficAnnotations(annotations: Record<string, string> | undefined): string[] {
  const problems: string[] = [];
  const attempt = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  };
  const timeout = annotations?.[TrafficAnnotations.requestTimeout];
  if (timeout !== undefined) attempt(() => parseTimeout(timeout));
  const retry = annotations?.[TrafficAnnotations.retryHttp];
  if (retry !== undefined) attempt(() => parseStatusRanges(retry));
  const retryGrpc = annotations?.[TrafficAnnotations.retryGrpc];
  if (retryGrpc !== undefined) attempt(() => parseGrpcStatuses(retryGrpc));
  attempt(() => parseRetryBudget(annotations));
  return problems;
}

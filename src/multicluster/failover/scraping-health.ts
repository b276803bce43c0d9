import { describeError } from '../../core/errors.ts';
import type { Clock, HealthSample, HealthSource } from './health.ts';
import { parsePrometheusText } from './prometheus-text.ts';

export interface ScrapingHealthOptions {
  /** Proxy admin metrics URLs, e.g. `http://127.1.0.7:4191/metrics` (a bare admin address gets `/metrics`). */
  targets: string[];
  /** Scrape period; default 5 s. */
  intervalMs?: number;
  /** How much history to keep; must cover the longest health window. Default 10 min. */
  retentionMs?: number;
  /** Per-scrape timeout; default 2 s. */
  timeoutMs?: number;
  clock?: Clock;
  /** Called when a target cannot be scraped; the source keeps going. */
  onError?: (target: string, message: string) => void;
}

/** Counters summed over the outbound series of one destination service. */
interface ServiceCounters {
  success: number;
  failure: number;
  /** Cumulative histogram buckets, by upper bound. */
  buckets: Map<number, number>;
}

interface Snapshot {
  at: number;
  services: Map<string, ServiceCounters>;
}

const WANTED = new Set(['response_total', 'response_latency_ms_bucket']);

/**
 * Health of services as seen by their callers' proxies: scrapes each proxy's
 * `response_total{classification}` and `response_latency_ms` (outbound, by
 * `dst_namespace`/`dst_service`) and compares snapshots a window apart.
 */
export class ScrapingHealthSource implements HealthSource {
  #targets: string[];
  readonly #intervalMs: number;
  readonly #retentionMs: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #onError: ((target: string, message: string) => void) | undefined;
  readonly #history = new Map<string, Snapshot[]>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ScrapingHealthOptions) {
    this.#targets = options.targets.map(metricsUrl);
    this.#intervalMs = options.intervalMs ?? 5000;
    this.#retentionMs = options.retentionMs ?? 10 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#clock = options.clock ?? Date.now;
    this.#onError = options.onError;
  }

  /** Scrapes now and then every interval until `close()`. */
  start(): void {
    if (this.#timer) return;
    void this.scrapeOnce();
    this.#timer = setInterval(() => void this.scrapeOnce(), this.#intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Replaces the targets; history of targets that stay is kept, that of the others dropped. */
  setTargets(targets: readonly string[]): void {
    this.#targets = targets.map(metricsUrl);
    for (const target of this.#history.keys())
      if (!this.#targets.includes(target)) this.#history.delete(target);
  }

  get targets(): readonly string[] {
    return this.#targets;
  }

  /** Scrapes every target once; failures are reported through `onError`, never thrown. */
  async scrapeOnce(): Promise<void> {
    await Promise.all(this.#targets.map((target) => this.#scrape(target)));
  }

  sample(namespace: string, service: string, windowMs: number): HealthSample | undefined {
    const key = `${namespace}/${service}`;
    let success = 0;
    let failure = 0;
    const buckets = new Map<number, number>();
    let seen = false;
    for (const history of this.#history.values()) {
      // One snapshot holds lifetime totals, not a window: wait for the second.
      if (history.length < 2) continue;
      const latest = history.at(-1) as Snapshot;
      const now = latest.services.get(key);
      if (!now) continue;
      const from = baseline(history, latest.at - windowMs).services.get(key);
      seen = true;
      success += increase(from?.success, now.success);
      failure += increase(from?.failure, now.failure);
      for (const [le, count] of now.buckets) {
        buckets.set(le, (buckets.get(le) ?? 0) + increase(from?.buckets.get(le), count));
      }
    }
    if (!seen) return undefined;
    const requests = success + failure;
    return {
      requests,
      successRate: requests === 0 ? undefined : success / requests,
      latencyP99Ms: quantile(0.99, buckets),
    };
  }

  async #scrape(target: string): Promise<void> {
    const at = this.#clock();
    let text: string;
    try {
      const response = await fetch(target, { signal: AbortSignal.timeout(this.#timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } catch (error) {
      this.#onError?.(target, describeError(error));
      return;
    }
    const services = new Map<string, ServiceCounters>();
    try {
      for (const sample of parsePrometheusText(text, target, WANTED)) {
        const { labels } = sample;
        if (labels.direction !== 'outbound' || !labels.dst_service || !labels.dst_namespace) continue;
        const key = `${labels.dst_namespace}/${labels.dst_service}`;
        let counters = services.get(key);
        if (!counters) {
          counters = { success: 0, failure: 0, buckets: new Map() };
          services.set(key, counters);
        }
        if (sample.name === 'response_total') {
          if (labels.classification === 'success') counters.success += sample.value;
          else if (labels.classification === 'failure') counters.failure += sample.value;
        } else {
          const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
          if (!Number.isNaN(le)) counters.buckets.set(le, (counters.buckets.get(le) ?? 0) + sample.value);
        }
      }
    } catch (error) {
      this.#onError?.(target, describeError(error));
      return;
    }
    if (!this.#targets.includes(target)) return;
    const history = this.#history.get(target) ?? [];
    history.push({ at, services });
    while (history.length > 1 && (history[0] as Snapshot).at < at - this.#retentionMs) history.shift();
    this.#history.set(target, history);
  }
}

function metricsUrl(target: string): string {
  return /\/metrics$/.test(target) ? target : `${target.replace(/\/$/, '')}/metrics`;
}

/** The newest earlier snapshot taken at or before `at`; without one, the oldest (a shorter window). */
function baseline(history: readonly Snapshot[], at: number): Snapshot {
  let chosen = history[0] as Snapshot;
  for (const snapshot of history.slice(0, -1)) if (snapshot.at <= at) chosen = snapshot;
  return chosen;
}

/** Counter increase; a counter that went down was reset, so all of it is new. */
function increase(before: number | undefined, after: number): number {
  if (before === undefined || after < before) return after;
  return after - before;
}

/** Quantile of cumulative buckets, interpolated within a bucket like Prometheus' histogram_quantile. */
export function quantile(q: number, buckets: ReadonlyMap<number, number>): number | undefined {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const [bound, count] of sorted) {
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return previousBound;
      const inBucket = count - previousCount;
      if (inBucket <= 0) return bound;
      return previousBound + ((bound - previousBound) * (rank - previousCount)) / inBucket;
    }
    previousBound = bound;
    previousCount = count;
  }
  return previousBound;
}

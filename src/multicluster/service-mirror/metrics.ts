/** Prometheus text-format metrics of the mirror controllers, per `target_cluster_name`. */

const PROBE_BUCKETS_MS = [
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 5000, 10000,
];
const PROPAGATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly buckets: number[];
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(buckets: number[]) {
    this.buckets = buckets;
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] as number)) this.counts[i]!++;
  }
  /** Upper bound of the bucket holding quantile `q` (as Prometheus' histogram_quantile, without interpolation). */
  quantile(q: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = q * this.count;
    for (let i = 0; i < this.buckets.length; i++)
      if ((this.counts[i] as number) >= rank) return this.buckets[i];
    return Number.POSITIVE_INFINITY;
  }
}

/** One link's figures. */
export class LinkMetrics {
  gatewayAlive = 0;
  mirroredServices = 0;
  lastSyncSeconds = 0;
  readonly probeLatencyMs = new Histogram(PROBE_BUCKETS_MS);
  readonly propagationSeconds = new Histogram(PROPAGATION_BUCKETS_S);
  probesSucceeded = 0;
  probesFailed = 0;
  endpointRepairs = 0;
}

/** Metrics of every link served by one process. */
export class MirrorMetrics {
  readonly #links = new Map<string, LinkMetrics>();

  /** The figures of one target cluster, created on first use. */
  link(targetClusterName: string): LinkMetrics {
    let metrics = this.#links.get(targetClusterName);
    if (!metrics) {
      metrics = new LinkMetrics();
      this.#links.set(targetClusterName, metrics);
    }
    return metrics;
  }

  /** Forgets a link whose controller stopped. */
  remove(targetClusterName: string): void {
    this.#links.delete(targetClusterName);
  }

  /** The Prometheus text exposition of every link. */
  render(): string {
    const lines: string[] = [];
    const gauge = (name: string, help: string, value: (m: LinkMetrics) => number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const [cluster, m] of this.#links)
        lines.push(`${name}{target_cluster_name="${cluster}"} ${value(m)}`);
    };
    const counter = (name: string, help: string, series: (m: LinkMetrics) => [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [cluster, m] of this.#links) {
        for (const [extra, value] of series(m)) {
          lines.push(`${name}{target_cluster_name="${cluster}"${extra}} ${value}`);
        }
      }
    };
    const histogram = (name: string, help: string, pick: (m: LinkMetrics) => Histogram) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const [cluster, m] of this.#links) {
        const h = pick(m);
        const label = `target_cluster_name="${cluster}"`;
        h.buckets.forEach((le, i) => {
          lines.push(`${name}_bucket{${label},le="${le}"} ${h.counts[i]}`);
        });
        lines.push(`${name}_bucket{${label},le="+Inf"} ${h.count}`);
        lines.push(`${name}_sum{${label}} ${h.sum}`, `${name}_count{${label}} ${h.count}`);
      }
    };
    gauge(
      'gateway_alive',
      'Whether the target cluster gateway answers its probe (1) or not (0).',
      (m) => m.gatewayAlive,
    );
    histogram('gateway_probe_latency_ms', 'Latency of successful gateway probes.', (m) => m.probeLatencyMs);
    counter('gateway_probes', 'Gateway probes sent, by outcome.', (m) => [
      [',probe_successful="true"', m.probesSucceeded],
      [',probe_successful="false"', m.probesFailed],
    ]);
    gauge('mirrored_services', 'Services of the target cluster mirrored here.', (m) => m.mirroredServices);
    histogram(
      'mirror_propagation_seconds',
      'Time from seeing a change on the target to its mirror being written here.',
      (m) => m.propagationSeconds,
    );
    gauge(
      'remote_last_sync_timestamp_seconds',
      'Unix time of the last complete sync with the target cluster.',
      (m) => m.lastSyncSeconds,
    );
    counter('service_mirror_endpoint_repairs', 'Passes that rewrote mirror endpoints.', (m) => [
      ['', m.endpointRepairs],
    ]);
    return `${lines.join('\n')}\n`;
  }
}

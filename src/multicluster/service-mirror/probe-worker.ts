import { request } from 'node:http';
import type { LinkConfig } from '../link/link-config.ts';
import { type AddressResolver, dnsResolver, resolveGatewayAddresses } from './gateway-addresses.ts';
import type { LinkMetrics } from './metrics.ts';

export interface ProbeWorkerOptions {
  config: Pick<LinkConfig, 'name' | 'gatewayAddresses' | 'probe'>;
  /** Told each time the verdict changes (and the first verdict). */
  onChange: (alive: boolean) => void;
  metrics?: LinkMetrics;
  resolve?: AddressResolver;
}

/**
 * Probes a target cluster's gateway: GET http://<gateway>:<port><path> every
 * period, each with a timeout. The gateway is alive after one success and
 * not alive after `failureThreshold` consecutive failures.
 */
export class ProbeWorker {
  readonly #options: ProbeWorkerOptions;
  #alive: boolean | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #inFlight: Promise<void> | undefined;

  constructor(options: ProbeWorkerOptions) {
    this.#options = options;
  }

  /** The last verdict; undefined before the first. */
  get alive(): boolean | undefined {
    return this.#alive;
  }

  start(): void {
    this.#tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#inFlight = this.#probeOnce().finally(() => {
      if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), this.#options.config.probe.periodMs);
    });
  }

  async #probeOnce(): Promise<void> {
    const { config, metrics } = this.#options;
    const ips = await resolveGatewayAddresses(config.gatewayAddresses, this.#options.resolve ?? dnsResolver);
    const started = performance.now();
    // Alive when any gateway address answers.
    const results = await Promise.all(
      ips.map((ip) => probe(ip, config.probe.port, config.probe.path, config.probe.timeoutMs)),
    );
    const ok = results.some((r) => r);
    if (this.#stopped) return;
    if (ok) {
      metrics?.probeLatencyMs.observe(performance.now() - started);
      if (metrics) metrics.probesSucceeded++;
      this.#failures = 0;
      this.#set(true);
    } else {
      if (metrics) metrics.probesFailed++;
      this.#failures++;
      if (this.#failures >= config.probe.failureThreshold) this.#set(false);
    }
  }

  #set(alive: boolean): void {
    if (this.#alive === alive) return;
    this.#alive = alive;
    if (this.#options.metrics) this.#options.metrics.gatewayAlive = alive ? 1 : 0;
    this.#options.onChange(alive);
  }
}

/** One GET; true on a 2xx answer within the timeout. */
function probe(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

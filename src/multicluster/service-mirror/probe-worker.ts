import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { request as tlsRequest } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { dnsSan, type IdentityMaterial } from '../../proxy/transport/credentials.ts';
import type { LinkConfig } from '../link/link-config.ts';
import { type AddressResolver, dnsResolver, resolveGatewayAddresses } from './gateway-addresses.ts';
import type { LinkMetrics } from './metrics.ts';

export interface ProbeWorkerOptions {
  config: Pick<LinkConfig, 'name' | 'gatewayAddresses' | 'gatewayIdentity' | 'probe'>;
  /**
   * This cluster's identity for the probe (read before each probe, so a
   * renewed certificate is picked up). With it the probe is mutual TLS and
   * only an answer from the Link's gateway identity counts; without it, plain HTTP.
   */
  identity?: () => IdentityMaterial;
  /** Told each time the verdict changes (and the first verdict). */
  onChange: (alive: boolean) => void;
  metrics?: LinkMetrics;
  resolve?: AddressResolver;
}

/**
 * Probes a target cluster's gateway: GET <path> on its probe port every
 * period, each with a timeout; over mutual TLS, checking the gateway's
 * identity, when given this cluster's identity. The gateway is alive after
 * one success and not alive after `failureThreshold` consecutive failures.
 */
export class ProbeWorker {
  readonly #options: ProbeWorkerOptions;
  #alive: boolean | undefined;
  #failures = 0;
  #lastFailure: string | undefined;
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

  /** Why the last probe failed; undefined after a success. */
  get lastFailure(): string | undefined {
    return this.#lastFailure;
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
    let identity: IdentityMaterial | undefined;
    try {
      identity = this.#options.identity?.();
    } catch (error) {
      this.#failed(`no identity to probe with: ${(error as Error).message}`);
      return;
    }
    const started = performance.now();
    // Alive when any gateway address answers.
    const results = await Promise.all(
      ips.map((ip) =>
        identity
          ? probeTls(ip, config, identity)
          : probe(ip, config.probe.port, config.probe.path, config.probe.timeoutMs),
      ),
    );
    const ok = results.some((r) => r === undefined);
    if (this.#stopped) return;
    if (!ok) {
      this.#failed(results.join('; ') || 'no gateway address resolved');
      return;
    }
    metrics?.probeLatencyMs.observe(performance.now() - started);
    if (metrics) metrics.probesSucceeded++;
    this.#lastFailure = undefined;
    this.#failures = 0;
    this.#set(true);
  }

  #failed(reason: string): void {
    const { metrics, config } = this.#options;
    this.#lastFailure = reason;
    if (metrics) metrics.probesFailed++;
    this.#failures++;
    if (this.#failures >= config.probe.failureThreshold) this.#set(false);
  }

  #set(alive: boolean): void {
    if (this.#alive === alive) return;
    this.#alive = alive;
    if (this.#options.metrics) this.#options.metrics.gatewayAlive = alive ? 1 : 0;
    this.#options.onChange(alive);
  }
}

/** One GET; undefined on a 2xx answer within the timeout, else why not. */
function probe(host: string, port: number, path: string, timeoutMs: number): Promise<string | undefined> {
  return answer(host, port, timeoutMs, (respond) =>
    request({ host, port, path, method: 'GET', timeout: timeoutMs, agent: false }, respond),
  );
}

/**
 * One GET over mutual TLS: this cluster's certificate out, and the answer
 * counts only from a certificate that chains to the trust bundle and names
 * the Link's gateway identity.
 */
function probeTls(
  host: string,
  config: ProbeWorkerOptions['config'],
  identity: IdentityMaterial,
): Promise<string | undefined> {
  const { port, path, timeoutMs } = config.probe;
  const expected = config.gatewayIdentity;
  if (!expected) return Promise.resolve('the Link names no gateway identity to check');
  return answer(host, port, timeoutMs, (respond) =>
    tlsRequest(
      {
        host,
        port,
        path,
        method: 'GET',
        timeout: timeoutMs,
        agent: false,
        servername: expected,
        cert: identity.certChain,
        key: identity.key,
        ca: identity.trustBundle,
        minVersion: 'TLSv1.3',
        checkServerIdentity: (_host: string, cert: PeerCertificate) => {
          const actual = dnsSan(cert.subjectaltname);
          return actual === expected
            ? undefined
            : new Error(
                `the probe was answered by ${actual ?? 'a certificate without a DNS name'}, not ${expected}`,
              );
        },
      },
      respond,
    ),
  );
}

function answer(
  host: string,
  port: number,
  timeoutMs: number,
  send: (respond: (res: IncomingMessage) => void) => ClientRequest,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = send((res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.on('end', () =>
        resolve(status >= 200 && status < 300 ? undefined : `${host}:${port} answered ${status}`),
      );
      res.on('error', (error) => resolve(`${host}:${port}: ${error.message}`));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve(`${host}:${port}: ${error.message}`));
    req.end();
  });
}

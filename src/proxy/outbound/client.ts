import type net from 'node:net';
import type { FailureAccrualOptions } from '../balance/failure-accrual.ts';
import type { Resolver } from '../discovery/types.ts';
import type { Logger } from '../log.ts';
import { endpointLabels, type ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { connectEndpoint } from '../transport/connect.ts';
import type { Credentials } from '../transport/credentials.ts';
import type { SessionProtocol } from '../transport/header.ts';
import { type EndpointHandle, TargetCache } from './targets.ts';

export interface OutboundClientOptions {
  resolver: Resolver;
  /** Our workload identity; without it only unmeshed endpoints can be reached. */
  credentials: Credentials | undefined;
  log: Logger;
  metrics?: ProxyMetrics;
  connectTimeoutMs?: number;
  /** How long to wait for discovery's first answer for a target. */
  discoveryTimeoutMs?: number;
  /** Send traffic for targets discovery does not know straight to their address. */
  fallbackDirect?: boolean;
  accrual?: FailureAccrualOptions;
}

/**
 * Resolves a target authority, balances across its endpoints and connects to
 * one: mTLS with an identity check and a transport header for meshed
 * endpoints, plain TCP otherwise. Shared by the outbound side and gateways.
 */
export class OutboundClient {
  readonly targets: TargetCache;
  readonly credentials: Credentials | undefined;
  readonly log: Logger;
  readonly metrics: ProxyMetrics | undefined;
  readonly connectTimeoutMs: number;
  readonly discoveryTimeoutMs: number;

  constructor(options: OutboundClientOptions) {
    this.credentials = options.credentials;
    this.log = options.log;
    this.metrics = options.metrics;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 1000;
    this.discoveryTimeoutMs = options.discoveryTimeoutMs ?? 3000;
    this.targets = new TargetCache({
      resolver: options.resolver,
      log: options.log,
      ...(options.accrual ? { accrual: options.accrual } : {}),
      fallbackDirect: options.fallbackDirect ?? true,
    });
  }

  /**
   * Waits for discovery, then picks an endpoint of `authority` (p2c, peak-EWMA,
   * weights), of the backend `group` when given and it has endpoints.
   */
  async pick(authority: string, group?: string): Promise<EndpointHandle> {
    const target = this.targets.get(authority);
    await target.ready(this.discoveryTimeoutMs);
    return target.pick(group);
  }

  /**
   * Picks an endpoint of `authority` at once when discovery has already given
   * it endpoints and one is available; undefined otherwise, when `pick` waits
   * for discovery and says why there is none.
   */
  pickNow(authority: string, group?: string): EndpointHandle | undefined {
    const target = this.targets.get(authority);
    if (target.endpoints.length === 0) return undefined;
    try {
      return target.pick(group);
    } catch {
      return undefined;
    }
  }

  /**
   * Picks an endpoint for another try of a request: one of the first of
   * `authorities` (a split's backend, then its apex, whose endpoints are all
   * the backends') that has an endpoint not in `avoid`, the keys of those
   * that already failed it; of the backend `group` first when given. With
   * none, as `pick` of the first.
   */
  async pickAvoiding(
    authorities: readonly string[],
    avoid: ReadonlySet<string>,
    group?: string,
  ): Promise<EndpointHandle> {
    for (const authority of new Set(authorities)) {
      const target = this.targets.get(authority);
      await target.ready(this.discoveryTimeoutMs);
      const choice =
        (group === undefined ? undefined : target.pickOther(avoid, group)) ?? target.pickOther(avoid);
      if (choice) return choice;
    }
    return this.pick(authorities[0] as string, group);
  }

  /**
   * Outbound metric labels, under `authority`, for an answer the proxy gives
   * itself for `target` (503 without endpoints, 502/504 on a failed
   * connection): the same `dst_*` and `target_cluster` labels as relayed answers.
   */
  targetLabels(target: string, authority: string): string {
    const labels = this.targets.get(target).labels;
    return endpointLabels('outbound', authority, { address: '', port: 0, weight: 0, labels });
  }

  /** Connects to a picked endpoint; failures count towards its failure accrual. */
  async connectTo(
    handle: EndpointHandle,
    protocol: SessionProtocol,
    options: { authority?: string; clientIdentity?: string } = {},
  ): Promise<net.Socket> {
    handle.breaker.acquire();
    try {
      const socket = await connectEndpoint(handle.endpoint, {
        credentials: this.credentials,
        protocol,
        connectTimeoutMs: this.connectTimeoutMs,
        ...(options.clientIdentity ? { clientIdentity: options.clientIdentity } : {}),
      });
      this.metrics?.trackConnection(`${handle.labels(options.authority ?? '')},peer="dst"`, socket);
      return socket;
    } catch (error) {
      handle.breaker.failure();
      throw error;
    }
  }

  /** Picks and connects in one step, for per-connection (TCP) balancing. */
  async connect(
    authority: string,
    protocol: SessionProtocol,
    options: { clientIdentity?: string } = {},
  ): Promise<{ socket: net.Socket; endpoint: EndpointHandle }> {
    const endpoint = await this.pick(authority);
    const socket = await this.connectTo(endpoint, protocol, { authority, ...options });
    endpoint.breaker.success();
    return { socket, endpoint };
  }

  close(): void {
    this.targets.close();
  }
}

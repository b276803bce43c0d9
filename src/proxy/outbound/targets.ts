import { FailureAccrual, type FailureAccrualOptions } from '../balance/failure-accrual.ts';
import { type Candidate, pickP2c } from '../balance/p2c.ts';
import { PeakEwma } from '../balance/peak-ewma.ts';
import { type Endpoint, type EndpointUpdate, endpointKey, type Resolver } from '../discovery/types.ts';
import { ProxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { endpointLabels } from '../metrics/proxy-metrics.ts';
import { splitAuthority } from '../transport/connect.ts';

/** An endpoint as the balancer sees it: its discovery data plus its load and breaker. */
export class EndpointHandle implements Candidate {
  #endpoint: Endpoint;
  #group: string | undefined | null = null;
  readonly #labels = new Map<string, string>();
  readonly key: string;
  readonly ewma: PeakEwma;
  readonly breaker: FailureAccrual;

  constructor(endpoint: Endpoint, accrual: FailureAccrualOptions) {
    this.#endpoint = endpoint;
    this.key = endpointKey(endpoint);
    this.ewma = new PeakEwma();
    this.breaker = new FailureAccrual(accrual);
  }

  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  set endpoint(endpoint: Endpoint) {
    this.#endpoint = endpoint;
    this.#labels.clear();
    this.#group = null;
  }

  /** The backend service this endpoint serves (discovery's labels): a split's weights hold per backend. */
  get group(): string | undefined {
    if (this.#group === null) {
      const { namespace, service } = this.#endpoint.labels;
      this.#group = service === undefined ? undefined : `${namespace ?? ''}/${service}`;
    }
    return this.#group;
  }

  /** Outbound metric labels for requests to this endpoint under `authority`, formatted once. */
  labels(authority: string): string {
    let text = this.#labels.get(authority);
    if (text === undefined) {
      text = endpointLabels('outbound', authority, this.#endpoint);
      if (this.#labels.size < 64) this.#labels.set(authority, text);
    }
    return text;
  }

  /** Endpoints with equal keys can share connections. */
  get connectionKey(): string {
    const e = this.endpoint;
    return `${this.key}|${e.tlsIdentity ?? ''}|${e.opaqueTransportPort ?? 0}|${e.authorityOverride ?? ''}`;
  }

  get weight(): number {
    return this.endpoint.weight;
  }

  load(): number {
    return this.ewma.load();
  }

  available(): boolean {
    return this.breaker.available();
  }
}

/**
 * The live endpoint set of one target authority. Updates replace handles in
 * the set; a request already holding a handle keeps it, so nothing in flight
 * is dropped.
 */
export class Target {
  readonly authority: string;
  readonly #endpoints = new Map<string, EndpointHandle>();
  /** `#endpoints` as a list, made on the first pick after each update rather than per request. */
  #list: readonly EndpointHandle[] | undefined;
  #known = false;
  #exists = true;
  #fallback: EndpointHandle | undefined;
  readonly #waiters: Array<() => void> = [];
  readonly #accrual: FailureAccrualOptions;
  /** Labels every endpoint of the last `add` shared, kept while the target has no endpoints. */
  #shared: Record<string, string> = {};
  lastUsed = Date.now();
  stop: () => void = () => {};

  constructor(authority: string, accrual: FailureAccrualOptions, fallbackDirect: boolean) {
    this.authority = authority;
    this.#accrual = accrual;
    if (fallbackDirect) {
      try {
        const { host, port } = splitAuthority(authority, 80);
        this.#fallback = new EndpointHandle({ address: host, port, weight: 1, labels: {} }, accrual);
      } catch {
        this.#fallback = undefined;
      }
    }
  }

  apply(update: EndpointUpdate): void {
    this.#list = undefined;
    if (update.kind === 'add') {
      for (const endpoint of update.endpoints) {
        const key = endpointKey(endpoint);
        const existing = this.#endpoints.get(key);
        if (existing) existing.endpoint = endpoint;
        else this.#endpoints.set(key, new EndpointHandle(endpoint, this.#accrual));
      }
      this.#shared = sharedLabels(update.endpoints);
      this.#exists = true;
    } else if (update.kind === 'remove') {
      for (const address of update.addresses) this.#endpoints.delete(endpointKey(address));
    } else {
      this.#endpoints.clear();
      this.#exists = update.exists;
    }
    this.#known = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  get endpoints(): readonly EndpointHandle[] {
    this.#list ??= [...this.#endpoints.values()];
    return this.#list;
  }

  /**
   * Discovery labels for answers the proxy gives itself for this target (no
   * endpoint, a failed connection): the service and namespace its name gives
   * (`<svc>.<ns>.svc.…`), with what its endpoints last shared (a mirror's
   * `target_cluster`) when they served that same service.
   */
  get labels(): Record<string, string> {
    const [service, namespace, svc] = this.authority.replace(/:\d+$/, '').split('.');
    if (svc !== 'svc' || !service || !namespace) return this.#shared;
    const shared = this.#shared;
    return shared.service === service && shared.namespace === namespace ? shared : { namespace, service };
  }

  /** Resolves once discovery has answered at least once; rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    if (this.#known) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(wake);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(
          new ProxyError(
            'E_DISCOVERY_TIMEOUT',
            `no answer from discovery for ${this.authority} in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(wake);
    });
  }

  /** Picks an endpoint whose key is not in `avoid` (p2c, by weight); undefined when there is none. */
  pickOther(avoid: ReadonlySet<string>, group?: string): EndpointHandle | undefined {
    this.lastUsed = Date.now();
    return pickP2c(this.#inGroup(group).filter((e) => !avoid.has(e.key)));
  }

  /**
   * Picks an endpoint (p2c over peak-EWMA, by weight), of `group` when it has
   * any; unknown targets go direct when allowed.
   */
  pick(group?: string): EndpointHandle {
    this.lastUsed = Date.now();
    const choice = pickP2c(this.#inGroup(group));
    if (choice) return choice;
    if (!this.#exists && this.#fallback) return this.#fallback;
    throw new ProxyError(
      'E_NO_ENDPOINTS',
      this.#exists ? `${this.authority} has no endpoints` : `${this.authority} is not known to discovery`,
    );
  }

  /** The endpoints of `group`, or all of them when it has none (or none is asked for). */
  #inGroup(group: string | undefined): readonly EndpointHandle[] {
    const all = this.endpoints;
    if (group === undefined) return all;
    const members = all.filter((e) => e.group === group);
    return members.length > 0 ? members : all;
  }
}

function sharedLabels(endpoints: readonly Endpoint[]): Record<string, string> {
  const [first, ...rest] = endpoints;
  if (!first) return {};
  return Object.fromEntries(
    Object.entries(first.labels).filter(([name, value]) => rest.every((e) => e.labels[name] === value)),
  );
}

/** Targets by authority, each watched through the resolver while in use. */
export class TargetCache {
  readonly #targets = new Map<string, Target>();
  readonly #resolver: Resolver;
  readonly #log: Logger;
  readonly #accrual: FailureAccrualOptions;
  readonly #fallbackDirect: boolean;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: {
    resolver: Resolver;
    log: Logger;
    accrual?: FailureAccrualOptions;
    fallbackDirect?: boolean;
    /** Stop watching a target unused for this long. */
    idleMs?: number;
  }) {
    this.#resolver = options.resolver;
    this.#log = options.log;
    this.#accrual = options.accrual ?? {};
    this.#fallbackDirect = options.fallbackDirect ?? true;
    const idleMs = options.idleMs ?? 60_000;
    this.#sweeper = setInterval(
      () => {
        const cutoff = Date.now() - idleMs;
        for (const [authority, target] of this.#targets) {
          if (target.lastUsed < cutoff) {
            target.stop();
            this.#targets.delete(authority);
          }
        }
      },
      Math.min(idleMs, 10_000),
    ).unref();
  }

  get(authority: string): Target {
    let target = this.#targets.get(authority);
    if (target) return target;
    target = new Target(authority, this.#accrual, this.#fallbackDirect);
    const t = target;
    t.stop = this.#resolver.watch(
      authority,
      (update) => t.apply(update),
      (error) =>
        this.#log.warn('discovery stream failed; keeping last endpoints', {
          authority,
          error: error.message,
        }),
    );
    this.#targets.set(authority, target);
    return target;
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const target of this.#targets.values()) target.stop();
    this.#targets.clear();
  }
}

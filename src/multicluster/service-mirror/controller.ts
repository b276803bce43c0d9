import type { Endpoints, Namespace, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import { Annotations, Labels } from '../../core/api/names.ts';
import { describeError } from '../../core/errors.ts';
import type { ResourceStore } from '../../core/store.ts';
import { isExported, type LinkConfig, linkConfig } from '../link/link-config.ts';
import { type Change, diffEndpoints, diffService, isMirrorOf } from './diff.ts';
import { EventQueue } from './event-queue.ts';
import { type AddressResolver, dnsResolver, resolveGatewayAddresses } from './gateway-addresses.ts';
import { type LinkState, recordLinkEvent, writeLinkStatus } from './link-status.ts';
import type { LinkMetrics } from './metrics.ts';
import { buildMirror, type MirrorContext } from './mirror-objects.ts';
import { mirrorName } from './naming.ts';
import { WatchedCache } from './watched-cache.ts';

/** Named events of the mirror controller's queue (as Linkerd's cluster watcher). */
export type MirrorEventType =
  | 'RemoteServiceExported'
  | 'RemoteExportedServiceUpdated'
  | 'RemoteServiceUnexported'
  | 'RemoteEndpointsUpdated'
  | 'LocalNamespaceAdded'
  | 'OrphanedServicesGc'
  | 'RepairEndpoints';

interface QueuedEvent {
  type: MirrorEventType;
  /** `ns/name` of the remote service, for service events. */
  service?: { namespace: string; name: string };
  /** When the change was first seen, for the propagation histogram. */
  seenAt: number;
  attempts: number;
}

export interface MirrorControllerOptions {
  link: Link;
  /** The source cluster: where mirrors are written. */
  local: ResourceStore;
  /** The target cluster: where exported services are read. */
  remote: ResourceStore;
  metrics?: LinkMetrics;
  resolve?: AddressResolver;
  /** How often gateway names are resolved again; default one minute. */
  repairPeriodMs?: number;
  /** Events processed at once (never two for the same service); default 8. */
  concurrency?: number;
  /** Delay before the first retry of a failed event, doubled each time; default 50 ms. */
  retryMs?: number;
  log?: (line: string) => void;
}

const SERVICE = { apiVersion: 'v1', kind: 'Service' } as const;
const ENDPOINTS = { apiVersion: 'v1', kind: 'Endpoints' } as const;
const MAX_ATTEMPTS = 8;

/**
 * Mirrors one Link's target cluster into the source cluster: every exported
 * remote Service becomes `<svc>-<cluster>` here, with Endpoints at the
 * target's gateway. Changes arrive as named events on one queue; handlers are
 * idempotent and read the current state, so repeated or reordered events
 * converge to the same mirrors.
 */
export class MirrorController {
  readonly config: LinkConfig;
  readonly #options: MirrorControllerOptions;
  readonly #services: WatchedCache<Service>;
  readonly #endpoints: WatchedCache<Endpoints>;
  readonly #namespaces: WatchedCache<Namespace>;
  readonly #mirrors = new Set<string>();
  readonly #missingNamespace = new Set<string>();
  readonly #conflicts = new Set<string>();
  #gatewayIps: string[] = [];
  #gatewayResolved = false;
  // Assumed alive until the probe says otherwise, so that start-up does not flap.
  #gatewayAlive = true;
  #connected = false;
  #remoteError: string | undefined;
  #lastSync: string | undefined;
  #stopped = false;
  readonly #queue: EventQueue<QueuedEvent>;
  #repairTimer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #statusWrite: Promise<void> = Promise.resolve();
  #syncsAwaitingDrain = false;

  constructor(options: MirrorControllerOptions) {
    this.#options = options;
    this.config = linkConfig(options.link);
    const retryMs = Math.max(options.retryMs ?? 50, 10);
    this.#queue = new EventQueue<QueuedEvent>({
      handle: (event) => this.#handle(event),
      // Mirrors are written once both clusters have been listed and the gateway resolved.
      ready: () =>
        this.#gatewayResolved && this.#services.synced && this.#endpoints.synced && this.#namespaces.synced,
      concurrency: options.concurrency ?? 8,
      retryMs,
      maxAttempts: MAX_ATTEMPTS,
      onDrained: () => this.#drained(),
      log: (line) => this.#log(line),
    });
    this.#services = new WatchedCache<Service>({
      store: options.remote,
      kind: SERVICE,
      retryMs: retryMs * 4,
      onChange: (change) => {
        const [namespace, name] = splitKey(change.key);
        const type =
          change.type === 'delete' || !isExported(this.config, change.object.metadata.labels)
            ? 'RemoteServiceUnexported'
            : this.#mirrors.has(change.key)
              ? 'RemoteExportedServiceUpdated'
              : 'RemoteServiceExported';
        this.#enqueueService(type, namespace, name);
      },
      onSynced: () => this.#remoteSynced(),
      onDisconnected: (error) => this.#remoteLost(error),
    });
    this.#endpoints = new WatchedCache<Endpoints>({
      store: options.remote,
      kind: ENDPOINTS,
      retryMs: retryMs * 4,
      onChange: (change) => {
        const [namespace, name] = splitKey(change.key);
        const service = this.#services.get(namespace, name);
        if (service && isExported(this.config, service.metadata.labels)) {
          this.#enqueueService('RemoteEndpointsUpdated', namespace, name);
        }
      },
      onSynced: () => this.#remoteSynced(),
      onDisconnected: (error) => this.#remoteLost(error),
    });
    this.#namespaces = new WatchedCache<Namespace>({
      store: options.local,
      kind: { apiVersion: 'v1', kind: 'Namespace' },
      onChange: (change) => {
        if (change.type === 'delete') {
          for (const key of this.#mirrors) if (key.startsWith(`${change.key}/`)) this.#mirrors.delete(key);
          return;
        }
        for (const service of this.#services.values()) {
          if (service.metadata.namespace === change.key && isExported(this.config, service.metadata.labels)) {
            this.#enqueueService('LocalNamespaceAdded', change.key, service.metadata.name);
          }
        }
      },
    });
  }

  get gatewayAlive(): boolean {
    return this.#gatewayAlive;
  }

  /** Local `ns/name` keys of the remote services mirrored now. */
  get mirroredServices(): ReadonlySet<string> {
    return this.#mirrors;
  }

  /** Starts watching both clusters and working the queue. */
  start(): void {
    this.#namespaces.start();
    this.#services.start();
    this.#endpoints.start();
    this.#queue.start();
    const period = this.#options.repairPeriodMs ?? 60_000;
    this.#repairTimer = setInterval(() => this.#enqueue('repair', this.#repairEvent()), period);
    resolveGatewayAddresses(this.config.gatewayAddresses, this.#options.resolve ?? dnsResolver).then(
      (ips) => {
        this.#gatewayIps = ips;
        this.#gatewayResolved = true;
        this.#log(`gateway of ${this.config.targetClusterName} at ${ips.join(', ') || 'no address'}`);
        this.#queue.wake();
      },
    );
  }

  /** Stops watching; the mirrors stay as they are. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#repairTimer);
    clearTimeout(this.#statusTimer);
    await Promise.all([this.#services.stop(), this.#endpoints.stop(), this.#namespaces.stop()]);
    await this.#queue.stop();
    await this.#statusWrite;
  }

  /** Reports the gateway probe's verdict; a change rewrites every mirror's readiness. */
  setGatewayAlive(alive: boolean): void {
    if (alive === this.#gatewayAlive) return;
    this.#gatewayAlive = alive;
    if (this.#options.metrics) this.#options.metrics.gatewayAlive = alive ? 1 : 0;
    this.#enqueue('repair', this.#repairEvent());
    this.#scheduleStatus();
  }

  #repairEvent(): QueuedEvent {
    return { type: 'RepairEndpoints', seenAt: Date.now(), attempts: 0 };
  }

  #enqueueService(type: MirrorEventType, namespace: string, name: string): void {
    const key = `svc:${namespace}/${name}`;
    this.#enqueue(key, { type, service: { namespace, name }, seenAt: Date.now(), attempts: 0 });
  }

  #enqueue(key: string, event: QueuedEvent): void {
    if (!this.#stopped) this.#queue.enqueue(key, event);
  }

  #drained(): void {
    if (this.#syncsAwaitingDrain && this.#connected) {
      this.#syncsAwaitingDrain = false;
      this.#lastSync = new Date().toISOString();
      if (this.#options.metrics) this.#options.metrics.lastSyncSeconds = Date.now() / 1000;
      this.#scheduleStatus();
    }
  }

  #remoteSynced(): void {
    if (!this.#services.synced || !this.#endpoints.synced) return;
    if (!this.#connected) this.#log(`connected to cluster ${this.config.targetClusterName}`);
    this.#connected = true;
    this.#remoteError = undefined;
    this.#syncsAwaitingDrain = true;
    this.#enqueue('gc', { type: 'OrphanedServicesGc', seenAt: Date.now(), attempts: 0 });
    this.#scheduleStatus();
  }

  #remoteLost(error: unknown): void {
    const reason = describeError(error);
    if (this.#connected || this.#remoteError === undefined) {
      this.#log(
        `lost cluster ${this.config.targetClusterName}: ${reason}; keeping ${this.#mirrors.size} mirrors`,
      );
    }
    this.#connected = false;
    this.#remoteError = reason;
    this.#scheduleStatus();
  }

  async #handle(event: QueuedEvent): Promise<void> {
    if (event.service) {
      if (await this.#syncService(event.service.namespace, event.service.name)) {
        this.#options.metrics?.propagationSeconds.observe((Date.now() - event.seenAt) / 1000);
      }
    } else if (event.type === 'OrphanedServicesGc') {
      await this.#collectOrphans();
    } else {
      await this.#repairEndpoints();
    }
  }

  /** Brings the mirror of one remote service in line; true when something was written. */
  async #syncService(namespace: string, name: string): Promise<boolean> {
    const { local } = this.#options;
    const cluster = this.config.targetClusterName;
    const key = `${namespace}/${name}`;
    const remote = this.#services.get(namespace, name);
    const localName = mirrorName(name, cluster);
    const current = await local.get<Service>({ ...SERVICE, namespace, name: localName });
    const wasMissing = this.#missingNamespace.delete(key);
    const wasConflict = this.#conflicts.delete(key);
    if (wasMissing || wasConflict) this.#scheduleStatus();
    if (!remote || !isExported(this.config, remote.metadata.labels)) {
      this.#forget(key);
      if (!current || !isMirrorOf(current, cluster)) return false;
      await this.#deleteMirror(namespace, localName, current.spec?.clusterIP === 'None');
      return true;
    }
    if (current && !isMirrorOf(current, cluster)) {
      this.#conflicts.add(key);
      this.#scheduleStatus();
      if (!wasConflict) {
        await this.#event(
          'Warning',
          'MirrorNameTaken',
          `service ${key} not mirrored: ${namespace}/${localName} exists and is not a mirror`,
        );
      }
      return false;
    }
    if (!this.#namespaces.get(undefined, namespace)) {
      this.#missingNamespace.add(key);
      this.#scheduleStatus();
      if (!wasMissing) {
        await this.#event(
          'Warning',
          'ServiceMirroringSkipped',
          `service ${key} not mirrored: namespace ${namespace} does not exist here`,
        );
      }
      return false;
    }
    const desired = buildMirror(remote, this.#endpoints.get(namespace, name), this.#context());
    let wrote = await this.#apply(SERVICE, diffService(current, desired.service));
    const currentEndpoints = await local.get<Endpoints>({ ...ENDPOINTS, namespace, name: localName });
    wrote = (await this.#apply(ENDPOINTS, diffEndpoints(currentEndpoints, desired.endpoints))) || wrote;
    if (desired.endpointMirrors.length > 0 || current?.spec?.clusterIP === 'None') {
      wrote = (await this.#syncEndpointMirrors(namespace, localName, desired.endpointMirrors)) || wrote;
    }
    if (!this.#mirrors.has(key)) {
      this.#mirrors.add(key);
      this.#countChanged();
    }
    return wrote;
  }

  async #syncEndpointMirrors(
    namespace: string,
    headlessName: string,
    wanted: { service: Service; endpoints: Endpoints }[],
  ): Promise<boolean> {
    const { local } = this.#options;
    const existing = await local.list<Service>(SERVICE, {
      namespace,
      labelSelector: {
        matchLabels: {
          [Labels.headlessMirrorServiceName]: headlessName,
          [Labels.mirrorClusterName]: this.config.targetClusterName,
        },
      },
    });
    const byName = new Map(existing.items.map((s) => [s.metadata.name, s]));
    let wrote = false;
    for (const mirror of wanted) {
      const name = mirror.service.metadata.name;
      wrote = (await this.#apply(SERVICE, diffService(byName.get(name), mirror.service))) || wrote;
      const endpoints = await local.get<Endpoints>({ ...ENDPOINTS, namespace, name });
      wrote = (await this.#apply(ENDPOINTS, diffEndpoints(endpoints, mirror.endpoints))) || wrote;
      byName.delete(name);
    }
    for (const stale of byName.keys()) {
      await local.delete({ ...SERVICE, namespace, name: stale });
      await local.delete({ ...ENDPOINTS, namespace, name: stale });
      wrote = true;
    }
    return wrote;
  }

  async #apply(
    kind: typeof SERVICE | typeof ENDPOINTS,
    change: Change<Service | Endpoints>,
  ): Promise<boolean> {
    const { local } = this.#options;
    switch (change.action) {
      case 'none':
        return false;
      case 'create':
        await local.create(change.object);
        return true;
      case 'update':
        await local.update(change.object);
        return true;
      case 'replace': {
        const { name, namespace } = change.object.metadata;
        await local.delete({ ...kind, name, ...(namespace ? { namespace } : {}) });
        const { resourceVersion: _rv, uid: _uid, ...metadata } = change.object.metadata;
        await local.create({ ...change.object, metadata });
        return true;
      }
    }
  }

  async #deleteMirror(namespace: string, name: string, headless: boolean): Promise<void> {
    const { local } = this.#options;
    if (headless) await this.#syncEndpointMirrors(namespace, name, []);
    await local.delete({ ...SERVICE, namespace, name });
    await local.delete({ ...ENDPOINTS, namespace, name });
  }

  #forget(key: string): void {
    if (this.#mirrors.delete(key)) this.#countChanged();
  }

  #countChanged(): void {
    if (this.#options.metrics) this.#options.metrics.mirroredServices = this.#mirrors.size;
    this.#scheduleStatus();
  }

  /** Every local mirror of this link names its remote service: check each one still should exist. */
  async #collectOrphans(): Promise<void> {
    const selector = {
      matchLabels: {
        [Labels.mirroredService]: 'true',
        [Labels.mirrorClusterName]: this.config.targetClusterName,
      },
    };
    const suffix = `.svc.${this.config.targetClusterDomain}`;
    const { items } = await this.#options.local.list<Service>(SERVICE, { labelSelector: selector });
    for (const mirror of items) {
      const fqName = mirror.metadata.annotations?.[Annotations.remoteServiceFqName] ?? '';
      const parts = fqName.endsWith(suffix) ? fqName.slice(0, -suffix.length).split('.') : [];
      // Endpoint mirrors carry `<pod>.<svc>.<ns>`; service mirrors `<svc>.<ns>`.
      const [name, namespace] = parts.length === 3 ? parts.slice(1) : parts;
      if (name && namespace && namespace === mirror.metadata.namespace) {
        this.#enqueueService('OrphanedServicesGc', namespace, name);
      } else {
        this.#log(
          `deleting ${mirror.metadata.namespace}/${mirror.metadata.name}: it names no remote service`,
        );
        await this.#options.local.delete({
          ...SERVICE,
          namespace: mirror.metadata.namespace as string,
          name: mirror.metadata.name,
        });
      }
    }
    for (const service of this.#services.values()) {
      if (isExported(this.config, service.metadata.labels)) {
        this.#enqueueService(
          'RemoteServiceExported',
          service.metadata.namespace as string,
          service.metadata.name,
        );
      }
    }
  }

  /** Resolves the gateway again and rewrites every mirror's endpoints (readiness, addresses). */
  async #repairEndpoints(): Promise<void> {
    const ips = await resolveGatewayAddresses(
      this.config.gatewayAddresses,
      this.#options.resolve ?? dnsResolver,
    );
    if (ips.join(',') !== this.#gatewayIps.join(',')) {
      this.#log(`gateway of ${this.config.targetClusterName} now at ${ips.join(', ') || 'no address'}`);
    }
    this.#gatewayIps = ips;
    if (this.#options.metrics) this.#options.metrics.endpointRepairs++;
    if (this.#connected) {
      this.#lastSync = new Date().toISOString();
      if (this.#options.metrics) this.#options.metrics.lastSyncSeconds = Date.now() / 1000;
    }
    for (const service of this.#services.values()) {
      if (isExported(this.config, service.metadata.labels)) {
        this.#enqueueService('RepairEndpoints', service.metadata.namespace as string, service.metadata.name);
      }
    }
    this.#scheduleStatus();
  }

  #context(): MirrorContext {
    return { config: this.config, gatewayIps: this.#gatewayIps, gatewayAlive: this.#gatewayAlive };
  }

  #state(): LinkState {
    const state: LinkState = {
      connected: this.#connected,
      mirroredServices: this.#mirrors.size,
      gatewayAlive: this.#gatewayAlive,
      missingNamespace: [...this.#missingNamespace].sort(),
      nameConflicts: [...this.#conflicts].sort(),
    };
    if (this.#remoteError) state.remoteError = this.#remoteError;
    if (this.#lastSync) state.lastSuccessfulSync = this.#lastSync;
    return state;
  }

  #scheduleStatus(): void {
    if (this.#statusTimer || this.#stopped) return;
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = undefined;
      this.#statusWrite = this.#statusWrite
        .then(() => writeLinkStatus(this.#options.local, this.#options.link, this.#state()))
        .catch((error) =>
          this.#log(`writing the status of Link ${this.config.name}: ${describeError(error)}`),
        );
    }, 50);
  }

  async #event(type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    this.#log(message);
    await recordLinkEvent(this.#options.local, this.#options.link, type, reason, message).catch((error) =>
      this.#log(`recording an event on Link ${this.config.name}: ${describeError(error)}`),
    );
  }

  #log(line: string): void {
    this.#options.log?.(`[link ${this.config.name}] ${line}`);
  }
}

/** Deletes every mirror (Services and Endpoints) a link to `clusterName` made; returns how many Services. */
export async function removeMirrors(store: ResourceStore, clusterName: string): Promise<number> {
  const labelSelector = {
    matchLabels: { [Labels.mirroredService]: 'true', [Labels.mirrorClusterName]: clusterName },
  };
  const services = await store.list<Service>(SERVICE, { labelSelector });
  for (const service of services.items) {
    await store.delete({
      ...SERVICE,
      namespace: service.metadata.namespace as string,
      name: service.metadata.name,
    });
  }
  const endpoints = await store.list<Endpoints>(ENDPOINTS, { labelSelector });
  for (const item of endpoints.items) {
    await store.delete({
      ...ENDPOINTS,
      namespace: item.metadata.namespace as string,
      name: item.metadata.name,
    });
  }
  return services.items.length;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

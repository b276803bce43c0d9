import { isDeepStrictEqual } from 'node:util';
import type { Secret, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import { Labels } from '../../core/api/names.ts';
import { describeError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import type { ResourceStore } from '../../core/store.ts';
import type { IdentityMaterial } from '../../proxy/transport/credentials.ts';
import { MirrorController, type MirrorControllerOptions, removeMirrors } from './controller.ts';
import { recordLinkEvent } from './link-status.ts';
import type { MirrorMetrics } from './metrics.ts';
import { ProbeWorker } from './probe-worker.ts';
import { WatchedCache } from './watched-cache.ts';

/**
 * Builds a client of the target cluster's API from a Link's credentials
 * Secret. A `close` method, when present, is called once the Link's workers
 * stop using it (to end token renewal, for one).
 */
export type RemoteStoreFactory = (secret: Secret, link: Link) => RemoteStore | Promise<RemoteStore>;

/** A target cluster's store, closed when its Link's workers stop. */
export type RemoteStore = ResourceStore & { close?: () => void };

export interface LinkManagerOptions {
  /** The source cluster. */
  local: ResourceStore;
  /** Namespace of the Links (and their credentials). */
  namespace: string;
  /** Serve only this Link (one process per Link); absent serves every Link in the namespace. */
  linkName?: string;
  remoteStore: RemoteStoreFactory;
  metrics?: MirrorMetrics;
  /** Probe the gateways (default true). */
  probe?: boolean;
  /**
   * This cluster's identity for the probes (see `issuedProbeIdentity`): with
   * it each gateway is probed over mutual TLS and must answer as the Link's
   * gateway identity; without it, plain HTTP.
   */
  probeIdentity?: () => IdentityMaterial;
  /** Passed to each MirrorController. */
  controller?: Pick<MirrorControllerOptions, 'repairPeriodMs' | 'retryMs' | 'concurrency' | 'resolve'>;
  /** Delay before trying again to start a Link whose credentials failed; default 5 s. */
  credentialsRetryMs?: number;
  log?: (line: string) => void;
}

interface Running {
  spec: unknown;
  /** The credentials Secret's data the remote store was built from. */
  credentials: unknown;
  controller: MirrorController;
  probe: ProbeWorker | undefined;
  remote: RemoteStore;
}

/**
 * Runs one mirror controller and one probe worker per Link, restarting them
 * when a Link's spec or its credentials change (mirrors are kept across a
 * restart) and removing a Link's mirrors when it is deleted.
 */
export class LinkManager {
  readonly #options: LinkManagerOptions;
  readonly #links: WatchedCache<Link>;
  readonly #secrets: WatchedCache<Secret>;
  readonly #running = new Map<string, Running>();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  #collected = false;

  constructor(options: LinkManagerOptions) {
    this.#options = options;
    this.#links = new WatchedCache<Link>({
      store: options.local,
      kind: Kinds.Link,
      onChange: (change) => {
        const link = change.object;
        if (link.metadata.namespace !== options.namespace) return;
        if (options.linkName && link.metadata.name !== options.linkName) return;
        this.#serially(() =>
          change.type === 'delete' ? this.#unlink(link) : this.#reconcile(link.metadata.name),
        );
      },
      onSynced: () => {
        if (this.#collected || options.linkName) return;
        this.#collected = true;
        this.#serially(() => this.#collectUnlinkedMirrors());
      },
    });
    // A Link whose credentials change (linked again, another credential) reconnects with them.
    this.#secrets = new WatchedCache<Secret>({
      store: options.local,
      kind: Kinds.Secret,
      onChange: (change) => {
        if (change.object.metadata.namespace !== options.namespace) return;
        for (const link of this.#links.values()) {
          if (link.metadata.namespace !== options.namespace) continue;
          if (options.linkName && link.metadata.name !== options.linkName) continue;
          if (link.spec?.clusterCredentialsSecret === change.object.metadata.name) {
            this.#serially(() => this.#reconcile(link.metadata.name));
          }
        }
      },
    });
  }

  start(): void {
    this.#secrets.start();
    this.#links.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    await Promise.all([this.#links.stop(), this.#secrets.stop()]);
    await this.#chain;
    await Promise.all([...this.#running.keys()].map((name) => this.#halt(name)));
  }

  /** The controller of a Link, once it runs. */
  controller(linkName: string): MirrorController | undefined {
    return this.#running.get(linkName)?.controller;
  }

  #serially(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work).catch((error) => this.#log(describeError(error)));
  }

  async #reconcile(name: string): Promise<void> {
    if (this.#stopped) return;
    const link = this.#links.get(this.#options.namespace, name);
    if (!link) return;
    const running = this.#running.get(name);
    // Status writes change the Link too; only a new spec or new credentials restart its workers.
    const secret = this.#secrets.get(this.#options.namespace, link.spec?.clusterCredentialsSecret ?? '');
    if (
      running &&
      isDeepStrictEqual(running.spec, link.spec) &&
      isDeepStrictEqual(running.credentials, secret?.data)
    ) {
      return;
    }
    if (running) await this.#halt(name);
    clearTimeout(this.#retryTimers.get(name));
    this.#retryTimers.delete(name);
    try {
      await this.#launch(link);
    } catch (error) {
      const message = `cannot start mirroring for Link ${name}: ${describeError(error)}`;
      this.#log(message);
      await recordLinkEvent(this.#options.local, link, 'Warning', 'LinkNotStarted', message).catch(() => {});
      const timer = setTimeout(
        () => this.#serially(() => this.#reconcile(name)),
        this.#options.credentialsRetryMs ?? 5000,
      );
      timer.unref();
      this.#retryTimers.set(name, timer);
    }
  }

  async #launch(link: Link): Promise<void> {
    const { local, metrics } = this.#options;
    const secretName = link.spec?.clusterCredentialsSecret ?? '';
    const secret = await local.get<Secret>({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: this.#options.namespace,
      name: secretName,
    });
    if (!secret) throw new Error(`credentials Secret ${this.#options.namespace}/${secretName} not found`);
    const remote = await this.#options.remoteStore(secret, link);
    const controllerOptions: MirrorControllerOptions = { link, local, remote, ...this.#options.controller };
    if (this.#options.log) controllerOptions.log = this.#options.log;
    const linkMetrics = metrics?.link(link.spec?.targetClusterName ?? link.metadata.name);
    if (linkMetrics) controllerOptions.metrics = linkMetrics;
    const controller = new MirrorController(controllerOptions);
    let probe: ProbeWorker | undefined;
    if (this.#options.probe !== false) {
      probe = new ProbeWorker({
        config: controller.config,
        onChange: (alive) => {
          const why = alive ? '' : ` (${probe?.lastFailure ?? 'no answer'})`;
          this.#log(
            `gateway of ${controller.config.targetClusterName} is ${alive ? 'alive' : 'not alive'}${why}`,
          );
          controller.setGatewayAlive(alive);
        },
        ...(linkMetrics ? { metrics: linkMetrics } : {}),
        ...(this.#options.probeIdentity ? { identity: this.#options.probeIdentity } : {}),
        ...(this.#options.controller?.resolve ? { resolve: this.#options.controller.resolve } : {}),
      });
    }
    this.#running.set(link.metadata.name, {
      spec: link.spec,
      credentials: secret.data,
      controller,
      probe,
      remote,
    });
    controller.start();
    probe?.start();
  }

  async #halt(name: string): Promise<void> {
    const running = this.#running.get(name);
    if (!running) return;
    this.#running.delete(name);
    await Promise.all([running.controller.stop(), running.probe?.stop()]);
    running.remote.close?.();
  }

  async #unlink(link: Link): Promise<void> {
    const name = link.metadata.name;
    clearTimeout(this.#retryTimers.get(name));
    this.#retryTimers.delete(name);
    await this.#halt(name);
    const cluster = link.spec?.targetClusterName ?? name;
    this.#options.metrics?.remove(cluster);
    const removed = await removeMirrors(this.#options.local, cluster);
    this.#log(`Link ${name} deleted: removed ${removed} mirrors of cluster ${cluster}`);
  }

  /** At start-up: mirrors of clusters no Link points to any more. */
  async #collectUnlinkedMirrors(): Promise<void> {
    const linked = new Set(
      [...this.#links.values()].map((l) => l.spec?.targetClusterName).filter((c): c is string => !!c),
    );
    const { items } = await this.#options.local.list<Service>(
      { apiVersion: 'v1', kind: 'Service' },
      { labelSelector: { matchLabels: { [Labels.mirroredService]: 'true' } } },
    );
    const orphaned = new Set<string>();
    for (const service of items) {
      const cluster = service.metadata.labels?.[Labels.mirrorClusterName];
      if (cluster && !linked.has(cluster)) orphaned.add(cluster);
    }
    for (const cluster of orphaned) {
      const removed = await removeMirrors(this.#options.local, cluster);
      this.#log(`removed ${removed} mirrors of cluster ${cluster}: no Link points to it`);
    }
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { EventRecorder } from '../../../control-plane/runtime/index.ts';
import type { ConfigMap } from '../../../core/api/core.ts';
import type { Workload, WorkloadStatus } from '../../../core/api/local.ts';
import { describeError } from '../../../core/errors.ts';
import { Kinds } from '../../../core/kinds.ts';
import type { ResourceStore } from '../../../core/store.ts';
import { Multicluster } from '../../../multicluster/link/manifests.ts';
import { WatchedCache } from '../../../multicluster/service-mirror/watched-cache.ts';
import { dataPlaneEntry, dataPlaneEntryFiles, PROXY_NODE_ARGS } from '../../../proxy/launch.ts';
import { type ClusterConfig, clusterFiles } from '../cluster-config.ts';
import { processAlive, SUPERVISOR_PID_ANNOTATION } from '../controllers/workload-reaper.ts';
import { typeMeta } from '../type-meta.ts';
import { writeGatewayFiles } from './gateway-files.ts';
import { GatewayAnnotations, GatewayConfigMap, type GatewaySpec, parseGatewaySpec } from './gateway-spec.ts';

/** Both files a gateway may run from, to recognise one left running. */
const GATEWAY_ENTRIES: readonly string[] = Object.values(dataPlaneEntryFiles('gateway'));

const FIELD_MANAGER = 'strait-gateway-supervisor';

export interface GatewaySupervisorOptions {
  store: ResourceStore;
  /** The cluster's state directory (certificate, configuration and log go to its `multicluster/`). */
  dir: string;
  config: ClusterConfig;
  log: (line: string) => void;
  events?: EventRecorder;
  /** Delay before restarting a gateway that exited: doubles from `initialMs` up to `maxMs` (1 s … 30 s). */
  backoff?: { initialMs: number; maxMs: number };
}

interface Running {
  child: ChildProcess;
  command: string[];
  startedAt: number;
  renewal: NodeJS.Timeout;
  exited: Promise<void>;
}

/**
 * Runs a local cluster's multi-cluster gateway as a child process, as the
 * ConfigMap strait-multicluster/strait-gateway says (replicas 1 runs it, 0 or
 * no ConfigMap stops it; a changed address, port or authorization restarts
 * it). A gateway that exits is restarted with backoff. Its state is the
 * Workload strait-multicluster/strait-gateway (phase, readiness, pid as
 * `proxyPid`, restarts and last exit as annotations). The child exits when
 * this process dies (it watches its stdin), and a gateway left by a killed
 * control plane is stopped before a new one starts.
 */
export class GatewaySupervisor {
  readonly #options: GatewaySupervisorOptions;
  readonly #configMaps: WatchedCache<ConfigMap>;
  #chain: Promise<void> = Promise.resolve();
  #desired: GatewaySpec | undefined;
  #running: Running | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #restarts = 0;
  #lastExit: string | undefined;
  #delayMs: number;
  #stopped = false;
  #leftoverChecked = false;

  constructor(options: GatewaySupervisorOptions) {
    this.#options = options;
    this.#delayMs = options.backoff?.initialMs ?? 1000;
    this.#configMaps = new WatchedCache<ConfigMap>({
      store: options.store,
      kind: Kinds.ConfigMap,
      onChange: (change) => {
        const { namespace, name } = change.object.metadata;
        if (namespace !== GatewayConfigMap.namespace || name !== GatewayConfigMap.name) return;
        const configMap = change.type === 'delete' ? undefined : change.object;
        this.#serially(() => this.#reconcile(configMap));
      },
    });
  }

  start(): void {
    this.#configMaps.start();
  }

  /** Stops the gateway (and its Workload record) and stops following the ConfigMap. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    await this.#configMaps.stop();
    await this.#chain;
    await this.#halt();
    await this.#forget();
  }

  #serially(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work).catch((error) => this.#log(describeError(error)));
  }

  async #reconcile(configMap: ConfigMap | undefined): Promise<void> {
    if (this.#stopped) return;
    let spec: GatewaySpec | undefined;
    if (configMap) {
      try {
        spec = parseGatewaySpec(configMap);
      } catch (error) {
        // The gateway keeps running as it was; the owner sees why the change was not taken.
        this.#log(describeError(error));
        void this.#options.events?.record(configMap, 'Warning', 'InvalidGatewaySpec', describeError(error));
        return;
      }
    }
    const desired = spec?.replicas === 1 ? spec : undefined;
    if (isDeepStrictEqual(desired, this.#desired)) return;
    this.#desired = desired;
    this.#restarts = 0;
    this.#lastExit = undefined;
    this.#delayMs = this.#options.backoff?.initialMs ?? 1000;
    clearTimeout(this.#restartTimer);
    await this.#halt();
    if (desired) await this.#launch();
    else {
      await this.#forget();
      this.#log(configMap ? 'stopped: replicas is 0' : 'stopped: its ConfigMap is gone');
    }
  }

  async #launch(): Promise<void> {
    const spec = this.#desired;
    if (!spec || this.#stopped || this.#running) return;
    if (!this.#leftoverChecked) {
      this.#leftoverChecked = true;
      await this.#stopLeftover();
    }
    const { dir, config } = this.#options;
    let files: ReturnType<typeof writeGatewayFiles>;
    try {
      files = writeGatewayFiles(dir, config, spec);
    } catch (error) {
      await this.#retryLater(`cannot prepare its certificate: ${describeError(error)}`);
      return;
    }
    const { configFile, notAfter } = files;
    const logFile = join(clusterFiles(dir).multicluster, 'gateway.log');
    const log = createWriteStream(logFile, { flags: 'a' });
    const command = gatewayCommand();
    const child = spawn(command[0] as string, command.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        STRAIT_PROXY_CONFIG: configFile,
        STRAIT_GATEWAY_CLUSTER_DOMAIN: config.clusterDomain,
        STRAIT_GATEWAY_ALLOWED_IDENTITIES: spec.allowedIdentities.join(','),
        STRAIT_GATEWAY_ALLOWED_NETWORKS: spec.allowedNetworks.join(','),
        STRAIT_GATEWAY_EXIT_WITH_STDIN: '1',
      },
    });
    child.on('error', (error) => this.#log(error.message));
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        log.end();
        resolve();
        this.#serially(() => this.#exited(running, code, signal));
      });
    });
    // Renewed by a restart: the gateway reads its certificate once.
    const renewal = setTimeout(
      () => this.#serially(() => this.#renew(running)),
      Math.max(60_000, ((notAfter.getTime() - Date.now()) * 2) / 3),
    );
    renewal.unref();
    const running: Running = { child, command, startedAt: Date.now(), renewal, exited };
    this.#running = running;
    this.#follow(child, log, running);
    this.#log(`started (pid ${child.pid}) on ${spec.address}:${spec.port}, probe ${spec.probePort}`);
    await this.#record({
      phase: 'Running',
      ready: false,
      message: 'started',
      ...(child.pid ? { proxyPid: child.pid } : {}),
    });
  }

  /** Copies the child's output to its log and marks it ready at its `ready` line. */
  #follow(child: ChildProcess, log: WriteStream, running: Running): void {
    let seen = '';
    let announced = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (announced) return;
      seen += chunk.toString();
      if (!/^ready$/m.test(seen)) return;
      announced = true;
      this.#serially(async () => {
        if (this.#running !== running) return;
        await this.#record({
          phase: 'Running',
          ready: true,
          message: 'ready',
          ...(child.pid ? { proxyPid: child.pid } : {}),
        });
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  }

  async #exited(running: Running, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    clearTimeout(running.renewal);
    if (this.#running !== running) return; // stopped on purpose
    this.#running = undefined;
    const initial = this.#options.backoff?.initialMs ?? 1000;
    const max = this.#options.backoff?.maxMs ?? 30_000;
    // A gateway that ran a while starts again soon; one that keeps failing waits longer each time.
    if (Date.now() - running.startedAt > max) this.#delayMs = initial;
    this.#restarts++;
    const how = code !== null ? `code ${code}` : `signal ${signal}`;
    this.#lastExit = `${how} at ${new Date().toISOString()}`;
    await this.#retryLater(`exited (${how})`);
  }

  /** Records why the gateway does not run and starts it again after the backoff. */
  async #retryLater(reason: string): Promise<void> {
    const delay = this.#delayMs;
    this.#delayMs = Math.min(delay * 2, this.#options.backoff?.maxMs ?? 30_000);
    const message = `${reason}; starting again in ${Math.round(delay / 1000)}s`;
    this.#log(message);
    await this.#record({ phase: 'Pending', ready: false, message });
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => this.#serially(() => this.#launch()), delay);
    this.#restartTimer.unref();
  }

  async #renew(running: Running): Promise<void> {
    if (this.#running !== running) return;
    this.#log('restarting for a fresh certificate');
    await this.#halt();
    await this.#launch();
  }

  /** Stops the running gateway, if any: SIGTERM, then SIGKILL after 10 s. */
  async #halt(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    this.#running = undefined;
    clearTimeout(running.renewal);
    running.child.kill('SIGTERM');
    const killer = setTimeout(() => running.child.kill('SIGKILL'), 10_000);
    await running.exited;
    clearTimeout(killer);
  }

  /**
   * A gateway left running by a control plane that was killed (recorded in
   * the Workload with another supervisor's pid) is stopped, so the new one
   * can bind its address.
   */
  async #stopLeftover(): Promise<void> {
    const workload = await this.#options.store.get<Workload>(this.#workloadRef());
    const pid = workload?.status?.proxyPid;
    const supervisor = Number(workload?.metadata.annotations?.[SUPERVISOR_PID_ANNOTATION]);
    if (!pid || supervisor === process.pid || !isGatewayProcess(pid)) return;
    this.#log(`stopping the gateway left by a previous control plane (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    for (let waited = 0; waited < 10_000 && processAlive(pid); waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }

  /** Writes the gateway's Workload: what runs (spec, labels) and how it is (status). */
  async #record(status: WorkloadStatus): Promise<void> {
    const spec = this.#desired;
    if (!spec) return;
    const { store } = this.#options;
    const workload: Workload = {
      ...typeMeta(Kinds.Workload),
      metadata: {
        namespace: GatewayConfigMap.namespace,
        name: GatewayConfigMap.name,
        labels: { app: Multicluster.gateway, [Multicluster.partOfLabel]: 'strait-multicluster' },
        annotations: {
          [SUPERVISOR_PID_ANNOTATION]: String(process.pid),
          [GatewayAnnotations.restarts]: String(this.#restarts),
          ...(this.#lastExit ? { [GatewayAnnotations.lastExit]: this.#lastExit } : {}),
        },
      },
      spec: {
        serviceAccountName: Multicluster.gateway,
        command: this.#running?.command ?? gatewayCommand(),
        address: spec.address,
        ports: [
          { name: 'mc-gateway', port: spec.port },
          { name: 'mc-probe', port: spec.probePort },
        ],
      },
    };
    try {
      const applied = await store.apply(workload, { fieldManager: FIELD_MANAGER, force: true });
      const { resourceVersion: _, ...metadata } = applied.metadata;
      await store.updateStatus({
        ...applied,
        metadata,
        status: {
          ...status,
          address: spec.address,
          ...(this.#running ? { startedAt: new Date(this.#running.startedAt).toISOString() } : {}),
        },
      });
    } catch (error) {
      this.#log(`recording the gateway's state: ${describeError(error)}`);
    }
  }

  async #forget(): Promise<void> {
    await this.#options.store.delete(this.#workloadRef()).catch(() => false);
  }

  #workloadRef() {
    return { ...Kinds.Workload, namespace: GatewayConfigMap.namespace, name: GatewayConfigMap.name };
  }

  #log(line: string): void {
    this.#options.log(line);
  }
}

/** The compiled build when up to date, with the same node flags as proxies. */
function gatewayCommand(): string[] {
  return [process.execPath, ...PROXY_NODE_ARGS, dataPlaneEntry('gateway')];
}

/**
 * Whether `pid` runs a gateway entry point, compiled or source (pids are
 * reused; never signal a stranger).
 */
export function isGatewayProcess(pid: number): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return GATEWAY_ENTRIES.some((entry) => args.includes(entry));
  } catch {
    return false;
  }
}

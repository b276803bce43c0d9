import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { StraitError } from '../../core/errors.ts';
import { apiUrl, type ClusterConfig, clusterFiles, readClusterConfig } from './cluster-config.ts';
import { processAlive } from './controllers/workload-reaper.ts';
import { ensureNetworkNamespace, inNamespace } from './netns.ts';

const ENTRY = fileURLToPath(new URL('../../cmd/control-plane.ts', import.meta.url));

/**
 * Node flags of the control-plane process (measured with bench/destination.bench.ts).
 * A 2 MB young generation keeps the heap from growing by ~100 MB while a large
 * cluster's objects load, memory V8 would not give back to the system. The old
 * generation may grow 20% past what the last full collection kept (V8's default
 * lets it reach ~1.5×), so bursts of changes cost ~50 MB less resident memory.
 */
export const CONTROL_PLANE_NODE_ARGS: readonly string[] = [
  '--max-semi-space-size=2',
  '--heap-growing-percent=20',
];

/** The control-plane process's environment: two malloc arenas, so freed native memory is reused. */
export function controlPlaneEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '2', ...env };
}

export interface ControlPlaneStatus {
  config: ClusterConfig;
  /** Pid of the running control plane, when one runs. */
  pid: number | undefined;
  /** Whether the store API answers its readiness check. */
  ready: boolean;
}

/** The pid of the cluster's running control plane, if any (a stale pid file is ignored). */
export function controlPlanePid(dir: string): number | undefined {
  const file = clusterFiles(dir).pid;
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
}

/** Whether the cluster's store API answers /readyz. */
export function apiReady(dir: string, timeoutMs = 2000): Promise<boolean> {
  const config = readClusterConfig(dir);
  const ca = readFileSync(clusterFiles(dir).apiCa, 'utf8');
  return new Promise((resolve) => {
    const request = https.get(`${apiUrl(config)}/readyz`, { ca, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

export async function controlPlaneStatus(dir: string): Promise<ControlPlaneStatus> {
  const config = readClusterConfig(dir);
  const pid = controlPlanePid(dir);
  return { config, pid, ready: pid !== undefined && (await apiReady(dir)) };
}

/**
 * Starts the cluster's control plane as a background process (its output
 * goes to control-plane.log in the state directory) and waits until its API
 * is ready. Does nothing when it already runs.
 */
export async function startControlPlaneProcess(
  dir: string,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ pid: number; started: boolean }> {
  const running = controlPlanePid(dir);
  if (running !== undefined) return { pid: running, started: false };
  const files = clusterFiles(dir);
  const config = readClusterConfig(dir);
  let command = [process.execPath, ...CONTROL_PLANE_NODE_ARGS, ENTRY, '--cluster-dir', dir];
  if (config.netns) {
    ensureNetworkNamespace(config.index, config.name);
    command = inNamespace(config.netns, command);
  }
  const logFd = openSync(files.log, 'a');
  const child = spawn(command[0] as string, command.slice(1), {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: controlPlaneEnv(options.env ?? process.env),
  });
  closeSync(logFd);
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new StraitError(
        'E_CONTROL_PLANE_START',
        `the control plane exited (code ${exited}): ${lastLines(files.log)}`,
        {
          hint: `see ${files.log}`,
        },
      );
    }
    if (await apiReady(dir, 1000)) return { pid: child.pid as number, started: true };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGTERM');
  throw new StraitError('E_CONTROL_PLANE_START', 'the control plane did not become ready in time', {
    hint: `see ${files.log}`,
  });
}

/** Stops the cluster's control plane (SIGTERM, then SIGKILL after `timeoutMs`). Resolves false when none ran. */
export async function stopControlPlaneProcess(dir: string, timeoutMs = 15_000): Promise<boolean> {
  const pid = controlPlanePid(dir);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (processAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (processAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  rmSync(clusterFiles(dir).pid, { force: true });
  return true;
}

function lastLines(file: string): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ');
}

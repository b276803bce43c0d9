import { join } from 'node:path';
import type { ConfigMap } from '../../core/api/core.ts';
import type { Workload } from '../../core/api/local.ts';
import { describeError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import type { ResourceStore } from '../../core/store.ts';
import { clusterFiles } from '../../platform/local/cluster-config.ts';
import {
  GatewayAnnotations,
  GatewayConfigMap,
  parseGatewaySpec,
} from '../../platform/local/multicluster/gateway-spec.ts';
import type { CommandContext } from '../command.ts';
import type { CheckResult } from '../output.ts';

/** How a local cluster's gateway is, from the Workload its control plane records. */
export interface LocalGatewayState {
  running: boolean;
  ready: boolean;
  pid?: number;
  restarts: number;
  lastExit?: string;
  message?: string;
}

/** The gateway's state on a local cluster; undefined when no gateway runs or waits to run. */
export async function localGatewayState(store: ResourceStore): Promise<LocalGatewayState | undefined> {
  const workload = await store.get<Workload>({ ...Kinds.Workload, ...GatewayConfigMap });
  if (!workload) return undefined;
  const annotations = workload.metadata.annotations ?? {};
  const lastExit = annotations[GatewayAnnotations.lastExit];
  return {
    running: workload.status?.proxyPid !== undefined,
    ready: workload.status?.ready === true,
    ...(workload.status?.proxyPid ? { pid: workload.status.proxyPid } : {}),
    restarts: Number(annotations[GatewayAnnotations.restarts] ?? 0),
    ...(lastExit ? { lastExit } : {}),
    ...(workload.status?.message ? { message: workload.status.message } : {}),
  };
}

/** A line describing the state, e.g. `ready, pid 123, 2 restarts (last exit: code 1 at …)`. */
export function describeGatewayState(state: LocalGatewayState): string {
  const parts = [state.ready ? 'ready' : state.running ? 'starting' : (state.message ?? 'not running')];
  if (state.pid) parts.push(`pid ${state.pid}`);
  if (state.restarts > 0) {
    parts.push(
      `${state.restarts} restart${state.restarts === 1 ? '' : 's'}${state.lastExit ? ` (last exit: ${state.lastExit})` : ''}`,
    );
  }
  return parts.join(', ');
}

/**
 * After `mc install` or `mc uninstall` on a local cluster: waits until its
 * control plane has the gateway ready (or stopped) and says so. Returns the
 * exit code: 1 when that did not happen within `timeoutMs`.
 */
export async function waitForGateway(
  store: ResourceStore,
  dir: string,
  want: 'running' | 'stopped',
  ctx: Pick<CommandContext, 'stdout' | 'stderr'>,
  timeoutMs = 60_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let state: LocalGatewayState | undefined;
  for (;;) {
    state = await localGatewayState(store);
    if (want === 'running' ? state?.ready : state === undefined) break;
    if (Date.now() > deadline) {
      const log = join(clusterFiles(dir).multicluster, 'gateway.log');
      ctx.stderr.write(
        want === 'running'
          ? `gateway not ready after ${timeoutMs / 1000}s: ${state ? describeGatewayState(state) : 'not started'}\n` +
              `  see ${log} and ${clusterFiles(dir).log}\n`
          : `gateway still recorded as running after ${timeoutMs / 1000}s: see ${clusterFiles(dir).log}\n`,
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  ctx.stdout.write(
    want === 'running'
      ? `gateway running in the control plane (${describeGatewayState(state as LocalGatewayState)}); ` +
          `stop it by applying replicas "0" to configmap/${GatewayConfigMap.name} -n ${GatewayConfigMap.namespace}\n`
      : 'gateway stopped\n',
  );
  return 0;
}

/**
 * `mc check` on a local cluster: whether its gateway is as its ConfigMap
 * says. Undefined when the cluster has no gateway ConfigMap (mc install not run).
 */
export async function checkLocalGateway(store: ResourceStore, dir: string): Promise<CheckResult | undefined> {
  const configMap = await store.get<ConfigMap>({ ...Kinds.ConfigMap, ...GatewayConfigMap });
  if (!configMap) return undefined;
  const description = 'this cluster’s gateway runs as configured';
  let replicas: number;
  try {
    replicas = parseGatewaySpec(configMap).replicas;
  } catch (error) {
    return {
      description,
      ok: false,
      error: describeError(error),
      hint: 'strait mc install applies it again',
    };
  }
  const state = await localGatewayState(store);
  if (replicas === 0) return { description: `${description} (stopped: replicas 0)`, ok: state === undefined };
  if (state?.ready) return { description: `${description} (${describeGatewayState(state)})`, ok: true };
  return {
    description,
    ok: false,
    error: state ? describeGatewayState(state) : 'the control plane has not started it',
    hint: `see ${join(clusterFiles(dir).multicluster, 'gateway.log')} and ${clusterFiles(dir).log}`,
  };
}

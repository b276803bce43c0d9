import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { StraitError } from '../core/errors.ts';
import type { ResourceStore } from '../core/store.ts';
import type { ClusterConfig } from '../platform/local/cluster-config.ts';
import { readClusterConfig } from '../platform/local/cluster-config.ts';
import { openClusterStore } from '../platform/local/cluster-store.ts';
import { clusterDirectory, listClusterNames, readHomeConfig, straitHome } from '../platform/local/home.ts';
import type { OptionValues } from './command.ts';

/** The cluster a command talks to: a local cluster by name, or a kubeconfig context. */
export type ClusterContext =
  | { platform: 'local'; name: string; dir: string; home: string }
  | { platform: 'kubernetes'; name: string; kubeconfig: string };

/** A context's store, to be closed when the command is done. */
export interface ContextStore {
  context: ClusterContext;
  store: ResourceStore;
  close(): void;
}

class ContextError extends StraitError {
  constructor(message: string, hint: string) {
    super('E_CONTEXT', message, { hint });
    this.name = 'ContextError';
  }
}

/**
 * Resolves `--context` the kubectl way: a local cluster of that name in
 * $STRAIT_HOME, else a context of the kubeconfig (--kubeconfig, $KUBECONFIG,
 * ~/.kube/config). Without --context: the `current-context` in
 * $STRAIT_HOME/config, else the only local cluster, else the kubeconfig's
 * current context.
 */
export function resolveContext(values: OptionValues, env: NodeJS.ProcessEnv): ClusterContext {
  const home = straitHome(env);
  const kubeconfig = kubeconfigPath(values, env);
  const requested = typeof values.context === 'string' && values.context !== '' ? values.context : undefined;
  const locals = listClusterNames(home);
  const name =
    requested ?? readHomeConfig(home)['current-context'] ?? (locals.length === 1 ? locals[0] : undefined);
  if (name !== undefined) {
    if (locals.includes(name)) return { platform: 'local', name, dir: clusterDirectory(home, name), home };
    if (kubeconfigContexts(kubeconfig).includes(name)) return { platform: 'kubernetes', name, kubeconfig };
    throw new ContextError(
      `context "${name}" is neither a local cluster nor a context of ${kubeconfig}`,
      locals.length > 0
        ? `local clusters: ${locals.join(', ')}`
        : 'create a local cluster with `strait local up --cluster NAME`',
    );
  }
  const kubeCurrent = kubeconfigCurrentContext(kubeconfig);
  if (kubeCurrent) return { platform: 'kubernetes', name: kubeCurrent, kubeconfig };
  throw new ContextError(
    locals.length > 1 ? 'more than one local cluster and no context chosen' : 'no cluster to talk to',
    locals.length > 1
      ? `pass --context (one of ${locals.join(', ')}) or set current-context in ${join(home, 'config')}`
      : 'create a local cluster with `strait local up --cluster NAME`',
  );
}

/** The configuration of a local context's cluster; fails for a Kubernetes context. */
export function localClusterOf(context: ClusterContext): ClusterConfig {
  if (context.platform !== 'local') {
    throw new ContextError(
      `context "${context.name}" is a Kubernetes cluster`,
      'this command needs a local cluster',
    );
  }
  return readClusterConfig(context.dir);
}

/** Opens the store of the context the command line chose. Every CLI group uses this. */
export async function openContextStore(values: OptionValues, env: NodeJS.ProcessEnv): Promise<ContextStore> {
  const context = resolveContext(values, env);
  if (context.platform === 'local') {
    const store = openClusterStore(context.dir);
    return { context, store, close: () => store.close() };
  }
  const store = await openKubernetesStore(context.kubeconfig, context.name);
  return { context, store, close: () => (store as { close?: () => void }).close?.() };
}

/** The Kubernetes adapter is loaded only for Kubernetes contexts, so local use does not pay for it. */
async function openKubernetesStore(kubeconfig: string, context: string): Promise<ResourceStore> {
  const adapter = await import('../platform/kubernetes/open.ts');
  return adapter.openKubernetesStore({ kubeconfig, context });
}

function kubeconfigPath(values: OptionValues, env: NodeJS.ProcessEnv): string {
  if (typeof values.kubeconfig === 'string' && values.kubeconfig !== '') return values.kubeconfig;
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p !== '');
  return fromEnv ?? join(env.HOME ?? homedir(), '.kube', 'config');
}

function readKubeconfig(path: string): { contexts?: { name: string }[]; 'current-context'?: string } {
  if (!existsSync(path)) return {};
  try {
    const parsed = parseYaml(readFileSync(path, 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as ReturnType<typeof readKubeconfig>) : {};
  } catch (error) {
    throw new StraitError('E_KUBECONFIG', `${path} is not valid YAML: ${(error as Error).message}`);
  }
}

function kubeconfigContexts(path: string): string[] {
  return (readKubeconfig(path).contexts ?? []).map((c) => c.name);
}

function kubeconfigCurrentContext(path: string): string | undefined {
  const current = readKubeconfig(path)['current-context'];
  return current && current !== '' ? current : undefined;
}

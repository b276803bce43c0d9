import type { Pod } from './node.ts';

/** A container's env entry, as far as the node resolves it. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

/** The value of a pod field a `fieldRef` names (the ones the node knows). */
export function fieldOf(pod: Pod, ip: string, path: string): string {
  const spec = pod.spec as { serviceAccountName?: string } | undefined;
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'spec.serviceAccountName': spec?.serviceAccountName ?? 'default',
    'status.podIP': ip,
  };
  const value = fields[path];
  if (value === undefined)
    throw new Error(`pod ${pod.metadata.name}: fieldRef ${path} is not supported by the node`);
  return value;
}

export interface EnvironmentOptions {
  pod: Pod;
  ip: string;
  /** Mount path → the directory the node filled for it. */
  mounts: Map<string, string>;
  /** `host:port` of a Service (as cluster DNS names it) → where it really answers. */
  services: ReadonlyMap<string, string>;
  /** The pod has its own network namespace: its listen addresses stay as written. */
  ownNetwork?: boolean;
}

/**
 * A container's environment as a kubelet would give it: `fieldRef` values and
 * `$(VAR)` references to earlier entries resolved. Then what stands in for the
 * pod's own network namespace and its mounts: a listen address on 0.0.0.0 or
 * 127.0.0.1 becomes the pod address (every pod shares the machine's
 * interfaces), a value under a mount path points into the node's copy, and a
 * Service's `host:port` becomes its real address (there is no cluster DNS or
 * kube-proxy).
 */
export function containerEnvironment(env: EnvVar[], options: EnvironmentOptions): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const variable of env) {
    const raw = variable.valueFrom?.fieldRef
      ? fieldOf(options.pod, options.ip, variable.valueFrom.fieldRef.fieldPath)
      : (variable.value ?? '');
    const expanded = raw.replace(
      /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
      (whole, name: string) => resolved[name] ?? whole,
    );
    resolved[variable.name] = localise(expanded, options);
  }
  return resolved;
}

function localise(value: string, options: EnvironmentOptions): string {
  const service = options.services.get(value);
  if (service) return service;
  const listen = options.ownNetwork ? null : /^(?:0\.0\.0\.0|127\.0\.0\.1):(\d+)$/.exec(value);
  if (listen) return `${options.ip}:${listen[1]}`;
  for (const [mountPath, dir] of options.mounts) {
    if (value === mountPath || value.startsWith(`${mountPath}/`)) return dir + value.slice(mountPath.length);
  }
  return value;
}

import type { V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';
import { StraitError } from '../../../core/errors.ts';
import { readAnnotation } from './annotations.ts';
import { type InjectOptions, injectPod } from './inject.ts';

/** A manifest object: a Pod, a workload with a pod template, a List of them, or anything else. */
export type ManifestValue = Record<string, unknown>;

/** What `injectManifest` did to one object. */
export interface InjectReport {
  /** `deployment/web` */
  object: string;
  injected: boolean;
  reason: string;
}

const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/**
 * Injects every pod and pod template in a manifest object, walking `List`s;
 * objects without pods come back unchanged. With `force`
 * (`strait inject`), objects without an inject annotation are injected too.
 */
export function injectManifest(
  value: ManifestValue,
  options: InjectOptions & { force?: boolean },
  reports: InjectReport[] = [],
): ManifestValue {
  const kind = value.kind;
  const name = (value.metadata as { name?: string } | undefined)?.name ?? '<unnamed>';
  const label = `${String(kind).toLowerCase()}/${name}`;
  if (kind === 'List' || (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value.items))) {
    const items = (value.items as ManifestValue[] | undefined) ?? [];
    return { ...value, items: items.map((item) => injectManifest(item, options, reports)) };
  }
  if (kind === 'Pod') {
    const result = injectOne(value as V1Pod, options, label);
    reports.push({ object: label, injected: result.injected, reason: result.reason });
    return result.pod as ManifestValue;
  }
  const path = typeof kind === 'string' ? TEMPLATE_PATHS[kind] : undefined;
  if (!path) {
    reports.push({ object: label, injected: false, reason: `a ${String(kind)} has no pods` });
    return value;
  }
  const copy = structuredClone(value);
  let parent: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    const next = parent[key];
    if (typeof next !== 'object' || next === null) {
      throw new StraitError('E_MANIFEST', `${label}: ${path.join('.')} is missing`);
    }
    parent = next as Record<string, unknown>;
  }
  const last = path.at(-1) as string;
  const template = parent[last] as V1PodTemplateSpec | undefined;
  if (!template?.spec) throw new StraitError('E_MANIFEST', `${label}: ${path.join('.')}.spec is missing`);
  const result = injectOne(template as V1Pod, options, label);
  parent[last] = result.pod;
  reports.push({ object: label, injected: result.injected, reason: result.reason });
  return copy;
}

function injectOne(pod: V1Pod, options: InjectOptions & { force?: boolean }, label: string) {
  // Forcing never overrides an explicit opt-out on the object itself.
  const marked =
    options.force && !readAnnotation(pod.metadata?.annotations, 'inject')
      ? {
          ...pod,
          metadata: {
            ...pod.metadata,
            annotations: { ...pod.metadata?.annotations, 'strait.io/inject': 'enabled' },
          },
        }
      : pod;
  try {
    return injectPod(marked, options);
  } catch (error) {
    if (error instanceof StraitError) {
      throw new StraitError(error.code, `${label}: ${error.message}`, { hint: error.hint, cause: error });
    }
    throw error;
  }
}

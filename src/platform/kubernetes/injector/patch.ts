import type { V1Pod } from '@kubernetes/client-node';

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/**
 * The JSON patch that turns `before` into the injected `after`: each field
 * the injector writes is set whole (`add` replaces an existing member).
 */
export function injectionPatch(before: V1Pod, after: V1Pod): JsonPatchOperation[] {
  const operations: JsonPatchOperation[] = [];
  if (!before.metadata) operations.push({ op: 'add', path: '/metadata', value: {} });
  for (const field of ['annotations', 'labels'] as const) {
    const value = after.metadata?.[field];
    if (value && JSON.stringify(value) !== JSON.stringify(before.metadata?.[field])) {
      operations.push({ op: 'add', path: `/metadata/${field}`, value });
    }
  }
  for (const field of ['initContainers', 'containers', 'volumes'] as const) {
    const value = after.spec?.[field];
    if (value && JSON.stringify(value) !== JSON.stringify(before.spec?.[field])) {
      operations.push({ op: 'add', path: `/spec/${field}`, value });
    }
  }
  return operations;
}

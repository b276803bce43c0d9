import type { ObjectRef, Resource } from '../../../core/resource.ts';
import { describeRef } from '../../../core/resource.ts';
import { schemaFor } from '../../../core/schemas/index.ts';
import { ConflictError, InvalidError, NotFoundError, type ResourceStore } from '../../../core/store.ts';
import { strategicMergePatch } from '../store/index.ts';

const ATTEMPTS = 5;

/**
 * Applies a strategic merge patch (what kubectl's client-side apply sends for
 * built-in kinds) as read, patch, update at the read resourceVersion, again
 * from the top when another writer came between.
 */
export async function patchStrategically(
  store: ResourceStore,
  ref: ObjectRef,
  patch: Record<string, unknown>,
): Promise<Resource> {
  const what = describeRef(ref);
  for (let attempt = 1; ; attempt++) {
    const current = await store.get(ref);
    if (!current) throw new NotFoundError(what);
    const patched = strategicMergePatch(what, current, patch, schemaFor(current)) as Resource;
    const moved = (['apiVersion', 'kind'] as const).filter((field) => patched[field] !== current[field]);
    for (const field of ['name', 'namespace'] as const) {
      if (patched.metadata?.[field] !== current.metadata[field]) moved.push(`metadata.${field}` as 'kind');
    }
    if (moved.length > 0) {
      throw new InvalidError(
        what,
        moved.map((field) => ({ field, reason: 'may not be changed by a patch' })),
      );
    }
    patched.metadata.resourceVersion = current.metadata.resourceVersion as string;
    try {
      return await store.update(patched);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt === ATTEMPTS) throw error;
    }
  }
}

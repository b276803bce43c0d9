import type { KindRef } from '../../core/resource.ts';

/** Only `apiVersion` and `kind` of a kind, to start an object with (KindInfo carries more). */
export function typeMeta(kind: KindRef): KindRef {
  return { apiVersion: kind.apiVersion, kind: kind.kind };
}

import type { Resource } from '../../../core/resource.ts';

/** Whether `value` has what the store needs to file an object: apiVersion, kind and a name. */
export function isStoredObject(value: unknown): value is Resource {
  const object = value as Resource | undefined;
  return (
    typeof object?.apiVersion === 'string' &&
    typeof object.kind === 'string' &&
    typeof object.metadata?.name === 'string'
  );
}

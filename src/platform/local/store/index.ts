export type { ManagedFieldsEntry } from './apply.ts';
export { StoreClosedError, StoreCorruptError, StoreLockedError, UnknownKindError } from './errors.ts';
export { FOREGROUND_FINALIZER } from './lifecycle.ts';
export { LocalStore } from './local-store.ts';
export type { LocalStoreOptions } from './open.ts';
export { openLocalStore } from './open.ts';
export { strategicMergePatch } from './strategic-merge-patch.ts';

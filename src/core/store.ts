import { StraitError } from './errors.ts';
import type { KindRef, ObjectRef, Resource } from './resource.ts';
import type { LabelSelector } from './selector.ts';

/**
 * The one interface controllers see. The local platform's embedded store and
 * the Kubernetes adapter both implement it; no controller imports a platform.
 */
export interface ResourceStore {
  get<T extends Resource = Resource>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends Resource = Resource>(kind: KindRef, options?: ListOptions): Promise<ListResult<T>>;
  /**
   * Events after `resourceVersion` (or, without one, ADDED for every current
   * object first). Ends when `signal` aborts. Throws WatchExpiredError when
   * the version is too old to resume from: the caller must list again.
   */
  watch<T extends Resource = Resource>(kind: KindRef, options?: WatchOptions): AsyncIterable<WatchEvent<T>>;
  /** Fails with AlreadyExistsError when the object exists. */
  create<T extends Resource>(object: T): Promise<T>;
  /** Optimistic: `metadata.resourceVersion` must be current, else ConflictError. */
  update<T extends Resource>(object: T): Promise<T>;
  /**
   * Server-side apply: creates or updates the fields `fieldManager` owns.
   * Conflicts with another manager's fields fail unless `force`.
   */
  apply<T extends Resource>(object: T, options: ApplyOptions): Promise<T>;
  /** JSON merge patch (RFC 7396) of an existing object. */
  patch<T extends Resource = Resource>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T>;
  /** Writes only `status`; `metadata.resourceVersion`, when set, must be current. */
  updateStatus<T extends Resource>(object: T): Promise<T>;
  /**
   * Deletes, or marks for deletion while finalizers remain. Dependents (by
   * owner reference) are collected. Resolves false when it did not exist.
   */
  delete(ref: ObjectRef, options?: DeleteOptions): Promise<boolean>;
}

export interface ListOptions {
  /** Only this namespace; absent means every namespace. */
  namespace?: string;
  labelSelector?: LabelSelector | string;
}

export interface ListResult<T extends Resource = Resource> {
  items: T[];
  /** Version to watch from to see every change after this list. */
  resourceVersion: string;
}

export interface WatchOptions extends ListOptions {
  resourceVersion?: string;
  signal?: AbortSignal;
  /** Ask for periodic BOOKMARK events carrying the current version. */
  allowBookmarks?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T extends Resource = Resource> {
  type: WatchEventType;
  /** For BOOKMARK, only `metadata.resourceVersion` is meaningful. */
  object: T;
}

export interface ApplyOptions {
  fieldManager: string;
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Delete only if the object still has this resourceVersion / uid. */
  preconditions?: { resourceVersion?: string; uid?: string };
}

/** One field that failed validation: `spec.ports[0].port`, and why. */
export interface FieldError {
  field: string;
  reason: string;
}

export class NotFoundError extends StraitError {
  constructor(what: string) {
    super('E_NOT_FOUND', `${what} not found`);
    this.name = 'NotFoundError';
  }
}

export class AlreadyExistsError extends StraitError {
  constructor(what: string) {
    super('E_ALREADY_EXISTS', `${what} already exists`);
    this.name = 'AlreadyExistsError';
  }
}

export class ConflictError extends StraitError {
  readonly currentResourceVersion: string | undefined;
  constructor(what: string, currentResourceVersion: string | undefined, detail?: string) {
    super(
      'E_CONFLICT',
      `${what}: ${detail ?? 'the object has been modified'}${
        currentResourceVersion ? ` (current resourceVersion ${currentResourceVersion})` : ''
      }`,
      { hint: 'read the object again and retry the change' },
    );
    this.name = 'ConflictError';
    this.currentResourceVersion = currentResourceVersion;
  }
}

export class InvalidError extends StraitError {
  readonly fields: FieldError[];
  constructor(what: string, fields: FieldError[]) {
    super('E_INVALID', `${what} is invalid: ${fields.map((f) => `${f.field}: ${f.reason}`).join('; ')}`);
    this.name = 'InvalidError';
    this.fields = fields;
  }
}

export class WatchExpiredError extends StraitError {
  constructor(resourceVersion: string) {
    super('E_WATCH_EXPIRED', `resourceVersion ${resourceVersion} is too old to watch from`, {
      hint: 'list again and watch from the list’s resourceVersion',
    });
    this.name = 'WatchExpiredError';
  }
}

export class ForbiddenError extends StraitError {
  constructor(what: string, reason: string) {
    super('E_FORBIDDEN', `${what}: ${reason}`);
    this.name = 'ForbiddenError';
  }
}

import { StraitError } from '../../../core/errors.ts';

/** A kind that no platform registered in src/core/kinds.ts. */
export class UnknownKindError extends StraitError {
  constructor(apiVersion: string, kind: string) {
    super('E_UNKNOWN_KIND', `kind ${kind} of apiVersion ${apiVersion} is not known to the store`, {
      hint: 'check apiVersion and kind against `strait api-resources`',
    });
    this.name = 'UnknownKindError';
  }
}

/** The on-disk state cannot be read back without losing acknowledged writes. */
export class StoreCorruptError extends StraitError {
  constructor(path: string, reason: string) {
    super('E_STORE_CORRUPT', `store file ${path} is corrupt: ${reason}`, {
      hint: 'restore the state directory from a backup, or remove it to start empty',
    });
    this.name = 'StoreCorruptError';
  }
}

/** Another process holds the state directory open. */
export class StoreLockedError extends StraitError {
  constructor(dir: string, pid: number) {
    super('E_STORE_LOCKED', `store directory ${dir} is in use by process ${pid}`, {
      hint: 'stop the other process, or use another state directory',
    });
    this.name = 'StoreLockedError';
  }
}

/** The store was closed; no more reads or writes. */
export class StoreClosedError extends StraitError {
  constructor() {
    super('E_STORE_CLOSED', 'the store is closed');
    this.name = 'StoreClosedError';
  }
}

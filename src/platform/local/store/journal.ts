import type { Resource } from '../../../core/resource.ts';

/** One committed change, as written to disk. */
export interface JournalRecord {
  version: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Resource;
}

/** Where the store makes changes durable before acknowledging them. */
export interface Journal {
  /** Writes the record; throws, changing nothing, if it could not be written. */
  append(record: JournalRecord): void;
  /**
   * Resolves once every record appended before the call is on stable
   * storage, with the version of the last of them.
   */
  flush(): Promise<number>;
  /** Whether the log has grown enough that a snapshot should replace it. */
  wantsSnapshot(): boolean;
  /** Writes every object as of `version` (durably) and starts an empty log. */
  snapshot(version: number, objects: Resource[]): void;
  close(): Promise<void>;
}

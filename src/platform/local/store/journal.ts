import type { Resource } from '../../../core/resource.ts';

/** One committed change, as written to disk. */
export interface JournalRecord {
  version: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Resource;
}

/** Where the store makes changes durable before acknowledging them. */
export interface Journal {
  /** Returns only once the record is on stable storage; throws if it could not be written. */
  append(record: JournalRecord): void;
  /** Whether the log has grown enough that a snapshot should replace it. */
  wantsSnapshot(): boolean;
  /** Writes every object as of `version` and starts an empty log. */
  snapshot(version: number, objects: Resource[]): void;
  close(): void;
}

import { DurableJournal } from './durable-journal.ts';
import type { LocalStoreSettings } from './local-store.ts';
import { LocalStore } from './local-store.ts';

export interface LocalStoreOptions {
  /** State directory. Without one the store lives in memory only. */
  dir?: string;
  /** Resource versions of history a watch can resume from (default 10,000). */
  historySize?: number;
  /** Events a slow watcher may fall behind before its watch ends (default 100,000). */
  maxWatchBacklog?: number;
  /** Period of BOOKMARK events, for watches that ask for them (default 10 s). */
  bookmarkIntervalMs?: number;
  /** Events not repeated for this long are deleted (default 1 h). */
  eventTtlMs?: number;
  /** Log records after which a snapshot replaces the log (default 10,000). */
  snapshotEvery?: number;
}

/**
 * Opens the local platform's store. With `dir`, every acknowledged write is
 * on disk (write-ahead log, synced per write, compacted into snapshots) and
 * the state is back after a restart or a crash; without, it is in memory.
 */
export async function openLocalStore(options: LocalStoreOptions = {}): Promise<LocalStore> {
  const settings: LocalStoreSettings = {
    historySize: options.historySize ?? 10_000,
    maxWatchBacklog: options.maxWatchBacklog ?? 100_000,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10_000,
    eventTtlMs: options.eventTtlMs ?? 3_600_000,
  };
  if (options.dir === undefined) return new LocalStore(settings);
  const { journal, saved } = DurableJournal.open(options.dir, {
    snapshotEvery: options.snapshotEvery ?? 10_000,
  });
  return new LocalStore(settings, journal, saved);
}

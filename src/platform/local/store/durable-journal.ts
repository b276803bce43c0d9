import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { StraitError } from '../../../core/errors.ts';
import type { Resource } from '../../../core/resource.ts';
import { objectKey, refOf } from '../../../core/resource.ts';
import { lockDirectory } from './directory-lock.ts';
import { StoreCorruptError } from './errors.ts';
import type { Journal, JournalRecord } from './journal.ts';
import { RecordLog } from './record-file.ts';
import type { Snapshot } from './snapshot.ts';
import { readSnapshot, syncDirectory, writeSnapshot } from './snapshot.ts';
import { isStoredObject } from './stored-object.ts';

const LOG_FILE = 'log';

export interface DurableJournalOptions {
  /** Records after which a snapshot replaces the log. */
  snapshotEvery: number;
}

/**
 * The write-ahead log plus snapshot of one state directory. Opening replays
 * the snapshot and then every log record after it.
 */
export class DurableJournal implements Journal {
  readonly #dir: string;
  readonly #log: RecordLog;
  readonly #unlock: () => void;
  readonly #snapshotEvery: number;
  #records: number;
  #appended = 0;

  static open(dir: string, options: DurableJournalOptions): { journal: DurableJournal; saved: Snapshot } {
    mkdirSync(dir, { recursive: true });
    syncDirectory(dirname(resolve(dir)));
    const unlock = lockDirectory(dir);
    try {
      const snapshot = readSnapshot(dir);
      const { log, payloads } = RecordLog.open(join(dir, LOG_FILE));
      syncDirectory(dir);
      const saved = replay(snapshot, payloads, log.path);
      return { journal: new DurableJournal(dir, log, unlock, options, payloads.length), saved };
    } catch (error) {
      unlock();
      throw error;
    }
  }

  private constructor(
    dir: string,
    log: RecordLog,
    unlock: () => void,
    options: DurableJournalOptions,
    records: number,
  ) {
    this.#dir = dir;
    this.#log = log;
    this.#unlock = unlock;
    this.#snapshotEvery = options.snapshotEvery;
    this.#records = records;
  }

  append(record: JournalRecord): void {
    const object =
      record.type === 'DELETED'
        ? {
            apiVersion: record.object.apiVersion,
            kind: record.object.kind,
            metadata: identity(record.object),
          }
        : record.object;
    try {
      this.#log.append(Buffer.from(JSON.stringify({ v: record.version, t: record.type, o: object })));
    } catch (error) {
      throw new StraitError('E_STORE_WRITE', `could not write to ${this.#log.path}: ${String(error)}`, {
        cause: error,
        hint: 'check free space and permissions of the state directory',
      });
    }
    this.#records++;
    this.#appended = record.version;
  }

  async flush(): Promise<number> {
    const version = this.#appended;
    await this.#log.sync();
    return version;
  }

  wantsSnapshot(): boolean {
    return this.#records >= this.#snapshotEvery;
  }

  snapshot(version: number, objects: Resource[]): void {
    writeSnapshot(this.#dir, { version, objects });
    this.#log.reset();
    this.#records = 0;
  }

  async close(): Promise<void> {
    try {
      await this.#log.close();
    } finally {
      this.#unlock();
    }
  }
}

function identity(object: Resource): Resource['metadata'] {
  const { name, namespace } = object.metadata;
  return namespace ? { name, namespace } : { name };
}

function replay(snapshot: Snapshot, payloads: Buffer[], path: string): Snapshot {
  const objects = new Map<string, Resource>();
  const keyOf = (object: Resource) => `${object.apiVersion}/${object.kind}/${objectKey(refOf(object))}`;
  for (const object of snapshot.objects) objects.set(keyOf(object), object);
  let version = snapshot.version;
  for (const [index, payload] of payloads.entries()) {
    const record = parseRecord(payload);
    if (!record) throw new StoreCorruptError(path, `record ${index} is not a change record`);
    if (record.v <= snapshot.version) continue;
    if (record.v <= version)
      throw new StoreCorruptError(path, `record ${index} goes back to version ${record.v}`);
    version = record.v;
    if (record.t === 'DELETED') objects.delete(keyOf(record.o));
    else objects.set(keyOf(record.o), record.o);
  }
  return { version, objects: [...objects.values()] };
}

function parseRecord(payload: Buffer): { v: number; t: JournalRecord['type']; o: Resource } | undefined {
  let record: { v?: unknown; t?: unknown; o?: Resource };
  try {
    record = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const { v, t, o } = record ?? {};
  if (!Number.isInteger(v) || !['ADDED', 'MODIFIED', 'DELETED'].includes(t as string)) return undefined;
  if (!isStoredObject(o)) return undefined;
  return { v: v as number, t: t as JournalRecord['type'], o };
}

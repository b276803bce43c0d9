import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '../../../core/resource.ts';
import { StoreCorruptError } from './errors.ts';
import { frame, readRecords } from './record-file.ts';
import { isStoredObject } from './stored-object.ts';

export const SNAPSHOT_FILE = 'snapshot';

export interface Snapshot {
  version: number;
  objects: Resource[];
}

/**
 * Writes every object as one checksummed record, atomically: a temporary
 * file is written and synced, renamed over the old snapshot, and the
 * directory synced so the rename itself survives a crash.
 */
export function writeSnapshot(dir: string, snapshot: Snapshot): void {
  const path = join(dir, SNAPSHOT_FILE);
  const temporary = `${path}.tmp`;
  const record = frame(Buffer.from(JSON.stringify({ format: 1, ...snapshot })));
  const fd = openSync(temporary, 'w');
  try {
    let written = 0;
    while (written < record.length) written += writeSync(fd, record, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  syncDirectory(dir);
}

/** The last snapshot, or an empty one when none was written yet. */
export function readSnapshot(dir: string): Snapshot {
  const path = join(dir, SNAPSHOT_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 0, objects: [] };
    throw error;
  }
  const { payloads, torn } = readRecords(path, bytes);
  if (torn || payloads.length !== 1) throw new StoreCorruptError(path, 'it is not one complete record');
  let parsed: Snapshot & { format?: number };
  try {
    parsed = JSON.parse((payloads[0] as Buffer).toString('utf8'));
  } catch {
    throw new StoreCorruptError(path, 'it is not JSON');
  }
  if (
    parsed?.format !== 1 ||
    !Number.isInteger(parsed.version) ||
    !Array.isArray(parsed.objects) ||
    !parsed.objects.every(isStoredObject)
  ) {
    throw new StoreCorruptError(path, 'unknown snapshot format');
  }
  return { version: parsed.version, objects: parsed.objects };
}

export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

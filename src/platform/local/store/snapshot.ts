import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Resource } from '../../../core/resource.ts';
import { StoreCorruptError } from './errors.ts';
import { frameHeader, HEADER_BYTES, readRecords } from './record-file.ts';
import { isStoredObject } from './stored-object.ts';

export const SNAPSHOT_FILE = 'snapshot';

export interface Snapshot {
  version: number;
  objects: Resource[];
}

/** Bytes of JSON gathered before each write while a snapshot streams out. */
const CHUNK_BYTES = 1 << 20;

/**
 * Writes every object as one checksummed record, atomically: a temporary
 * file is written and synced, renamed over the old snapshot, and the
 * directory synced so the rename itself survives a crash. The record streams
 * out a chunk at a time (its header, with the length and checksum, last), so
 * a snapshot of a large store never holds the whole document in memory.
 */
export function writeSnapshot(dir: string, snapshot: Snapshot): void {
  const path = join(dir, SNAPSHOT_FILE);
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    let position = HEADER_BYTES;
    let length = 0;
    let checksum = 0;
    let pending: string[] = [];
    let pendingBytes = 0;
    const write = () => {
      const chunk = Buffer.from(pending.join(''));
      pending = [];
      pendingBytes = 0;
      checksum = crc32(chunk, checksum);
      length += chunk.length;
      let written = 0;
      while (written < chunk.length)
        written += writeSync(fd, chunk, written, chunk.length - written, position + written);
      position += chunk.length;
    };
    const add = (text: string) => {
      pending.push(text);
      pendingBytes += text.length;
      if (pendingBytes >= CHUNK_BYTES) write();
    };
    add(`{"format":1,"version":${JSON.stringify(snapshot.version)},"objects":[`);
    for (const [index, object] of snapshot.objects.entries()) {
      add(`${index === 0 ? '' : ','}${JSON.stringify(object)}`);
    }
    add(']}');
    write();
    const header = frameHeader(length, checksum);
    writeSync(fd, header, 0, header.length, 0);
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

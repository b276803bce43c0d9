import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';
import { StoreCorruptError } from './errors.ts';

/** Bytes before each record's payload: its length, then the CRC-32 of the payload (both u32, big-endian). */
const HEADER = 8;

/** Frames one payload as a record. */
export function frame(payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

export interface ReadResult {
  payloads: Buffer[];
  /** Length of the valid prefix; anything after it is a torn write. */
  validLength: number;
  torn: boolean;
}

/**
 * Reads framed records. A record cut short at the end of the file, or a last
 * record whose checksum fails, is a write that never completed (torn tail).
 * A bad record with complete records after it is corruption, and fails.
 */
export function readRecords(path: string, bytes: Buffer): ReadResult {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const remaining = bytes.length - offset;
    if (remaining < HEADER) return { payloads, validLength: offset, torn: true };
    const length = bytes.readUInt32BE(offset);
    const checksum = bytes.readUInt32BE(offset + 4);
    const end = offset + HEADER + length;
    if (length === 0 || end > bytes.length) return { payloads, validLength: offset, torn: true };
    const payload = bytes.subarray(offset + HEADER, end);
    if (crc32(payload) !== checksum) {
      if (end === bytes.length) return { payloads, validLength: offset, torn: true };
      throw new StoreCorruptError(
        path,
        `record at byte ${offset} fails its checksum and more records follow`,
      );
    }
    payloads.push(payload);
    offset = end;
  }
  return { payloads, validLength: offset, torn: false };
}

/** An append-only file of framed records, each on stable storage before append returns. */
export class RecordLog {
  readonly path: string;
  readonly #fd: number;
  #size: number;
  #broken: Error | undefined;

  /** Opens (creating if needed) and returns the records already there, cutting off a torn tail. */
  static open(path: string): { log: RecordLog; payloads: Buffer[] } {
    const fd = openSync(path, 'a+');
    try {
      const bytes = readFileSync(fd);
      const { payloads, validLength, torn } = readRecords(path, bytes);
      if (torn) {
        ftruncateSync(fd, validLength);
        fdatasyncSync(fd);
      }
      return { log: new RecordLog(path, fd, validLength), payloads };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.#fd = fd;
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  append(payload: Buffer): void {
    if (this.#broken) throw this.#broken;
    const record = frame(payload);
    try {
      let written = 0;
      while (written < record.length) written += writeSync(this.#fd, record, written);
      fdatasyncSync(this.#fd);
      this.#size += record.length;
    } catch (error) {
      this.#undoPartialWrite(error);
      throw error;
    }
  }

  /** Empties the log (after a snapshot made its records redundant). */
  reset(): void {
    ftruncateSync(this.#fd, 0);
    fdatasyncSync(this.#fd);
    this.#size = 0;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #undoPartialWrite(cause: unknown): void {
    try {
      if (fstatSync(this.#fd).size !== this.#size) {
        ftruncateSync(this.#fd, this.#size);
        fdatasyncSync(this.#fd);
      }
    } catch {
      this.#broken = new StoreCorruptError(this.path, `a failed write could not be undone: ${String(cause)}`);
    }
  }
}

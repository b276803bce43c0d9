import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { crc32 } from 'node:zlib';
import { StoreCorruptError } from './errors.ts';

/**
 * Bytes before each record's payload: its length, the CRC-32 of the payload,
 * and the CRC-32 of those eight bytes (all u32, big-endian). The header's own
 * checksum tells a damaged length from a record cut short by a crash.
 */
const HEADER = 12;

/** Size of a record header. */
export const HEADER_BYTES = HEADER;

/** The header of a record whose payload has `length` bytes and CRC-32 `checksum`. */
export function frameHeader(length: number, checksum: number): Buffer {
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(length, 0);
  header.writeUInt32BE(checksum, 4);
  header.writeUInt32BE(crc32(header.subarray(0, 8)), 8);
  return header;
}

/** Frames one payload as a record. */
export function frame(payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(payload.length, crc32(payload)), payload]);
}

export interface ReadResult {
  payloads: Buffer[];
  /** Length of the valid prefix; anything after it is a torn write. */
  validLength: number;
  torn: boolean;
}

/**
 * Reads framed records. A crash in the middle of an append leaves a prefix of
 * the record (or zeros) at the end of the file: that torn tail is reported so
 * it can be cut off. Anything else that does not check out is corruption.
 */
export function readRecords(path: string, bytes: Buffer): ReadResult {
  const payloads: Buffer[] = [];
  let offset = 0;
  const torn = () => ({ payloads, validLength: offset, torn: true });
  const corrupt = (reason: string) => new StoreCorruptError(path, `record at byte ${offset} ${reason}`);
  while (offset < bytes.length) {
    if (bytes.length - offset < HEADER || isZero(bytes.subarray(offset))) return torn();
    if (crc32(bytes.subarray(offset, offset + 8)) !== bytes.readUInt32BE(offset + 8)) {
      throw corrupt('has a damaged header');
    }
    const end = offset + HEADER + bytes.readUInt32BE(offset);
    if (end > bytes.length) return torn();
    const payload = bytes.subarray(offset + HEADER, end);
    if (crc32(payload) !== bytes.readUInt32BE(offset + 4)) {
      if (end === bytes.length) return torn();
      throw corrupt('fails its checksum and more records follow');
    }
    payloads.push(payload);
    offset = end;
  }
  return { payloads, validLength: offset, torn: false };
}

function isZero(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/**
 * An append-only file of framed records. `append` writes a record; `sync`
 * resolves once every record appended before the call is on stable storage.
 * Concurrent writers share one sync (group commit), so a burst of writes costs
 * one disk flush rather than one each.
 */
export class RecordLog {
  readonly path: string;
  readonly #fd: number;
  #size: number;
  #appended = 0;
  #durable = 0;
  #syncing: Promise<void> | undefined;
  #broken: Error | undefined;
  #waiters: { target: number; resolve: () => void; reject: (error: Error) => void }[] = [];

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

  /** Writes a record (not yet synced); a failed write leaves the file as it was. */
  append(payload: Buffer): void {
    if (this.#broken) throw this.#broken;
    const record = frame(payload);
    try {
      let written = 0;
      while (written < record.length) written += writeSync(this.#fd, record, written);
      this.#size += record.length;
      this.#appended++;
    } catch (error) {
      this.#undoPartialWrite(error);
      throw error;
    }
  }

  /** Resolves once every record appended so far is on stable storage. */
  sync(): Promise<void> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (this.#durable >= this.#appended) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiters.push({ target: this.#appended, resolve, reject });
    this.#startSync();
    return promise;
  }

  /** Empties the log (after a snapshot made its records redundant and durable). */
  reset(): void {
    ftruncateSync(this.#fd, 0);
    fdatasyncSync(this.#fd);
    this.#size = 0;
    this.#markDurable(this.#appended);
  }

  /** Waits for a sync under way, then closes the file. */
  async close(): Promise<void> {
    await this.#syncing;
    closeSync(this.#fd);
  }

  #startSync(): void {
    if (this.#syncing) return;
    const target = this.#appended;
    this.#syncing = new Promise<void>((done) => {
      fdatasync(this.#fd, (error) => {
        this.#syncing = undefined;
        done();
        if (error) {
          this.#broken = new StoreCorruptError(
            this.path,
            `writes could not be synced to disk: ${error.message}`,
          );
          for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#broken);
          return;
        }
        this.#markDurable(target);
        if (this.#waiters.length > 0) this.#startSync();
      });
    });
  }

  #markDurable(target: number): void {
    this.#durable = Math.max(this.#durable, target);
    const ready = this.#waiters.filter((w) => w.target <= this.#durable);
    this.#waiters = this.#waiters.filter((w) => w.target > this.#durable);
    for (const waiter of ready) waiter.resolve();
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

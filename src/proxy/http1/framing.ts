import { Http1Error } from './error.ts';
import type { Http1Fields } from './head.ts';

/**
 * How a message body is delimited (RFC 9112 §6): not at all, by
 * Content-Length, by chunked coding, or by the connection closing (responses only).
 */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close';

/**
 * The framing of a request body. Throws an Http1Error for a request that
 * carries both Transfer-Encoding and Content-Length, whose transfer coding
 * does not end in chunked (RFC 9112 §6.3: both are answered 400), or that
 * has Transfer-Encoding in HTTP/1.0 (§6.1: its framing is faulty).
 */
export function requestFraming(head: Http1Fields): BodyFraming {
  if (head.transferEncoding) {
    if (head.minorVersion === 0) {
      throw new Http1Error('E_HTTP1_TRANSFER_ENCODING', 'HTTP/1.0 request has Transfer-Encoding');
    }
    if (head.contentLength !== -1) {
      throw new Http1Error(
        'E_HTTP1_TRANSFER_ENCODING',
        'request has both Transfer-Encoding and Content-Length',
      );
    }
    if (!endsInChunked(head.transferEncoding)) {
      throw new Http1Error(
        'E_HTTP1_TRANSFER_ENCODING',
        `request Transfer-Encoding "${head.transferEncoding}" does not end in chunked`,
      );
    }
    return 'chunked';
  }
  return head.contentLength > 0 ? 'length' : 'none';
}

/**
 * The framing of a response body to a request with `method`: none for HEAD,
 * 1xx, 204 and 304, and for a 2xx answer to CONNECT; Transfer-Encoding wins
 * over Content-Length; without either the body runs until the connection closes.
 */
export function responseFraming(head: Http1Fields, status: number, method: string): BodyFraming {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return 'none';
  if (method === 'CONNECT' && status < 300) return 'none';
  if (head.transferEncoding) {
    if (!endsInChunked(head.transferEncoding)) return 'close';
    return 'chunked';
  }
  if (head.contentLength === -1) return 'close';
  return head.contentLength > 0 ? 'length' : 'none';
}

/** Whether chunked is the last transfer coding, and applied only once (RFC 9112 §6.1). */
function endsInChunked(codings: string): boolean {
  const last = codings.lastIndexOf(',');
  if (codings.slice(last + 1).trim() !== 'chunked') return false;
  if (last === -1) return true;
  for (const coding of codings.slice(0, last).split(',')) {
    if (coding.trim() === 'chunked') {
      throw new Http1Error('E_HTTP1_TRANSFER_ENCODING', `chunked is applied more than once in "${codings}"`);
    }
  }
  return true;
}

// States of the chunked-coding scanner.
const SIZE_START = 0;
const SIZE = 1;
const SIZE_SPACE = 2;
const EXTENSION = 3;
const SIZE_LF = 4;
const DATA = 5;
const DATA_CR = 6;
const DATA_LF = 7;
const TRAILER_START = 8;
const TRAILER = 9;
const TRAILER_LF = 10;
const END_LF = 11;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
/** Chunk sizes above this (2^48) are refused: nobody sends 256 TiB in one chunk. */
const MAX_CHUNK_SIZE = 2 ** 48;

/** Most bytes of chunk extensions and trailer fields in one body. */
export const MAX_CHUNK_METADATA_BYTES = 16 * 1024;

/**
 * Finds where a message body ends in a byte stream, chunk by chunk, without
 * copying: the caller forwards `buf.subarray(pos, advance(buf, pos, end))`
 * as it is. Chunked coding is checked strictly (hex sizes without overflow,
 * CRLF after each chunk, extensions and trailers without control
 * characters, at most MAX_CHUNK_METADATA_BYTES of them) and a fault throws
 * an Http1Error. One instance per direction of a connection, reused by
 * `start` for each message.
 */
export class BodyFramer {
  /** The body is complete. */
  done = true;
  #framing: BodyFraming = 'none';
  #remaining = 0;
  #state = SIZE_START;
  #metadata = 0;
  readonly #refusedTrailers: readonly string[];
  /** The name of the trailer field being read, until its colon. */
  #trailerName: string | undefined;
  readonly #onData: ((data: Buffer) => void) | undefined;

  /**
   * `refusedTrailers`: lower-case names of trailer fields that make the body
   * malformed; `onData`: receives the body's content without its chunked
   * framing (views into the buffers passed to `advance`).
   */
  constructor(options: { refusedTrailers?: readonly string[]; onData?: (data: Buffer) => void } = {}) {
    this.#refusedTrailers = options.refusedTrailers ?? [];
    this.#onData = options.onData;
  }

  /** Begins a body; `length` is the Content-Length for 'length'. */
  start(framing: BodyFraming, length = 0): void {
    this.#framing = framing;
    this.#remaining = framing === 'length' ? length : 0;
    this.#state = SIZE_START;
    this.#metadata = 0;
    this.#trailerName = undefined;
    this.done = framing === 'none' || (framing === 'length' && length === 0);
  }

  /** The framing of the current body. */
  get framing(): BodyFraming {
    return this.#framing;
  }

  /**
   * Consumes body bytes of `buf` from `pos` (before `end`); returns the offset
   * just past the last byte that belongs to this body, and sets `done` when
   * the body ends there. Bytes after it belong to the next message.
   */
  advance(buf: Buffer, pos: number, end: number): number {
    if (this.done) return pos;
    switch (this.#framing) {
      case 'close':
        return end;
      case 'length': {
        const take = Math.min(this.#remaining, end - pos);
        this.#remaining -= take;
        if (this.#remaining === 0) this.done = true;
        if (take > 0) this.#onData?.(buf.subarray(pos, pos + take));
        return pos + take;
      }
      default:
        return this.#chunked(buf, pos, end);
    }
  }

  #chunked(buf: Buffer, pos: number, end: number): number {
    let state = this.#state;
    while (pos < end) {
      const b = buf[pos] as number;
      switch (state) {
        case SIZE_START:
        case SIZE: {
          const digit = hexValue(b);
          if (digit !== -1) {
            if (this.#remaining >= MAX_CHUNK_SIZE / 16) throw chunkError('chunk size is too large');
            this.#remaining = this.#remaining * 16 + digit;
            state = SIZE;
          } else if (state === SIZE_START) {
            throw chunkError(`chunk size starts with ${describeByte(b)}, not a hex digit`);
          } else if (b === CR) state = SIZE_LF;
          else if (b === 0x3b) state = EXTENSION;
          else if (b === SP || b === HTAB) state = SIZE_SPACE;
          else throw chunkError(`chunk size has ${describeByte(b)}`);
          pos++;
          break;
        }
        case SIZE_SPACE:
          if (b === 0x3b) state = EXTENSION;
          else if (b !== SP && b !== HTAB) throw chunkError('chunk size is followed by whitespace, not ;');
          pos++;
          break;
        case EXTENSION:
          if (b === CR) state = SIZE_LF;
          else if ((b < SP && b !== HTAB) || b === 0x7f)
            throw chunkError('chunk extension has a control character');
          this.#countMetadata();
          pos++;
          break;
        case SIZE_LF:
          if (b !== LF) throw chunkError('chunk size line has a CR that is not followed by LF');
          state = this.#remaining === 0 ? TRAILER_START : DATA;
          pos++;
          break;
        case DATA: {
          const take = Math.min(this.#remaining, end - pos);
          this.#remaining -= take;
          if (take > 0) this.#onData?.(buf.subarray(pos, pos + take));
          pos += take;
          if (this.#remaining === 0) state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (b !== CR) throw chunkError('chunk data is longer than its size');
          state = DATA_LF;
          pos++;
          break;
        case DATA_LF:
          if (b !== LF) throw chunkError('chunk data is not followed by CRLF');
          state = SIZE_START;
          pos++;
          break;
        case TRAILER_START:
          if (b === CR) state = END_LF;
          else if (b === SP || b === HTAB)
            throw chunkError('a trailer field continues on the next line (obs-fold)');
          else if (b < SP || b === 0x7f) throw chunkError('trailer field has a control character');
          else {
            state = TRAILER;
            this.#trailerName = String.fromCharCode(b | 0x20);
          }
          this.#countMetadata();
          pos++;
          break;
        case TRAILER:
          if (b === CR) {
            if (this.#trailerName !== undefined) throw chunkError('trailer field has no colon');
            state = TRAILER_LF;
          } else if ((b < SP && b !== HTAB) || b === 0x7f)
            throw chunkError('trailer field has a control character');
          else if (this.#trailerName !== undefined) {
            if (b === 0x3a) this.#checkTrailer(this.#trailerName);
            else this.#trailerName += String.fromCharCode(b | 0x20);
          }
          this.#countMetadata();
          pos++;
          break;
        case TRAILER_LF:
          if (b !== LF) throw chunkError('trailer field has a CR that is not followed by LF');
          state = TRAILER_START;
          pos++;
          break;
        case END_LF:
          if (b !== LF) throw chunkError('chunked body ends with a CR that is not followed by LF');
          this.#state = SIZE_START;
          this.done = true;
          return pos + 1;
      }
    }
    this.#state = state;
    return pos;
  }

  /** A trailer field's name has been read (lower-cased; only ASCII letters are folded). */
  #checkTrailer(name: string): void {
    this.#trailerName = undefined;
    if (this.#refusedTrailers.includes(name)) throw chunkError(`trailer field ${name} is not allowed`);
  }

  #countMetadata(): void {
    if (++this.#metadata > MAX_CHUNK_METADATA_BYTES) {
      throw chunkError(`chunk extensions and trailers exceed ${MAX_CHUNK_METADATA_BYTES} bytes`);
    }
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function describeByte(b: number): string {
  return b > SP && b < 0x7f ? `"${String.fromCharCode(b)}"` : `byte 0x${b.toString(16).padStart(2, '0')}`;
}

function chunkError(message: string): Http1Error {
  return new Http1Error('E_HTTP1_CHUNK', `malformed chunked body: ${message}`);
}

import { ProxyError } from '../errors.ts';
import { responseFraming } from '../http1/framing.ts';
import { type HeadLimits, parseResponseHead, type ResponseHead } from '../http1/head.ts';
import { reasonPhrase } from '../http1/reason.ts';
import type { KeepRead } from '../transport/reused-buffer.ts';
import { HOP_BY_HOP_FIELDS } from './headers.ts';

/** A final response head, ready to go on to the application. */
export interface UpstreamHead {
  status: number;
  /** The grpc-status field's value, if any. */
  grpcStatus: string | undefined;
  /** A Content-Length goes on with it: the application learns the body's length from it. */
  hasLength: boolean;
  /**
   * The status line (as HTTP/1.1; a standard reason phrase when it came
   * without one) and the end-to-end field lines as received, each ending in
   * CRLF, without the blank line. A copy, not a view into the bytes read.
   */
  lines: Buffer;
}

/** What a `ResponseParser` finds, in order: one head, body chunks, the end. */
export interface ResponseEvents {
  /** The final (non-1xx) head. */
  onResponseHead(head: UpstreamHead): void;
  /**
   * A piece of the body, framing removed; a view into the bytes read. Without
   * `keep` it stays valid; with it, only during the call unless `keep()` is
   * called, whose result must be called once the bytes are no longer held.
   */
  onResponseBody(chunk: Buffer, keep?: KeepRead): void;
  /**
   * The response is complete. `reusable`: the connection may carry another
   * request (keep-alive, framed body, nothing extra after it).
   */
  onResponseEnd(trailers: string[], reusable: boolean): void;
}

/** A response head (status line and headers) larger than this is refused. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;
const MAX_HEADERS = 256;
const LIMITS: HeadLimits = { maxHeadBytes: MAX_RESPONSE_HEAD_BYTES, maxHeaders: MAX_HEADERS };
const MAX_LINE_BYTES = 4096;
const CRLF2 = Buffer.from('\r\n\r\n');

/** tchar (RFC 9110 §5.6.2), what field names are made of, by character code. */
const TOKEN = charClass((c) => /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(String.fromCharCode(c)));
/** Field value characters: visible ASCII, space, tab and obs-text; no other control characters. */
const FIELD_VALUE = charClass((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));

function charClass(test: (c: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) table[c] = test(c) ? 1 : 0;
  return table;
}

/** Appends the name and value (without surrounding whitespace) of the field line `text[start, end)` to `raw`. */
function pushField(raw: string[], text: string, start: number, end: number): void {
  let colon = start;
  while (colon < end && TOKEN[text.charCodeAt(colon)] === 1) colon++;
  if (colon === start || colon === end || text.charCodeAt(colon) !== 0x3a) throw badField(text, start, end);
  let from = colon + 1;
  let to = end;
  while (from < to && isSpace(text.charCodeAt(from))) from++;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
  for (let i = from; i < to; i++) if (FIELD_VALUE[text.charCodeAt(i)] !== 1) throw badField(text, start, end);
  raw.push(text.slice(start, colon), text.slice(from, to));
}

const isSpace = (c: number) => c === 0x20 || c === 0x09;

function badField(text: string, start: number, end: number): ProxyError {
  return upstreamError(`bad header line ${JSON.stringify(text.slice(start, Math.min(end, start + 40)))}`);
}
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;[^\r\n]*)?$/;

const S = {
  idle: 0,
  head: 1,
  length: 2,
  untilClose: 3,
  chunkSize: 4,
  chunkData: 5,
  chunkEnd: 6,
  trailers: 7,
  /** A head without a body was read. */
  done: 8,
} as const;
type State = (typeof S)[keyof typeof S];

/**
 * Reads HTTP/1.x responses from a connection, one per `expect()`: skips 1xx
 * heads, frames the body by RFC 9112 §6.3 (none for HEAD/204/304,
 * chunked, Content-Length, else until the connection closes) and hands body
 * bytes on without copying. Malformed input throws a `ProxyError`
 * (E_UPSTREAM_RESPONSE) naming what was wrong; the connection must then close.
 */
export class ResponseParser {
  readonly #events: ResponseEvents;
  #state: State = S.idle;
  #bodiless = false;
  #keepAlive = true;
  /** Bytes of an incomplete head or chunk-size/trailer line carried over to the next read. */
  #pending: Buffer | undefined;
  #remaining = 0;
  #trailers: string[] = [];
  #lineText = '';

  constructor(events: ResponseEvents) {
    this.#events = events;
  }

  /** Prepares for the response to a request just sent; `head`: it was a HEAD request. */
  expect(head: boolean): void {
    this.#state = S.head;
    this.#bodiless = head;
    this.#keepAlive = true;
    this.#pending = undefined;
    this.#trailers = [];
  }

  /** Between responses: no response is expected or under way. */
  get idle(): boolean {
    return this.#state === S.idle;
  }

  /** Whether any byte of the current response's head has arrived. */
  get started(): boolean {
    return this.#state !== S.head || this.#pending !== undefined;
  }

  /** Feeds bytes read from the connection. */
  execute(data: Buffer): void {
    let offset = 0;
    while (offset < data.length) {
      switch (this.#state) {
        case S.idle:
          throw upstreamError('the server sent bytes while no request was waiting for them');
        case S.head:
          offset = this.#readHead(data, offset);
          if ((this.#state as State) === S.done) {
            this.#end(offset < data.length);
            return;
          }
          break;
        case S.length: {
          const n = Math.min(this.#remaining, data.length - offset);
          this.#remaining -= n;
          const chunk = data.subarray(offset, offset + n);
          offset += n;
          if (this.#remaining === 0) this.#state = S.idle;
          this.#events.onResponseBody(chunk);
          if (this.#state === S.idle) {
            this.#end(offset < data.length);
            return;
          }
          break;
        }
        case S.untilClose:
          this.#events.onResponseBody(offset === 0 ? data : data.subarray(offset));
          return;
        case S.chunkData: {
          const n = Math.min(this.#remaining, data.length - offset);
          this.#remaining -= n;
          const chunk = data.subarray(offset, offset + n);
          offset += n;
          if (this.#remaining === 0) this.#state = S.chunkEnd;
          this.#events.onResponseBody(chunk);
          break;
        }
        default: {
          offset = this.#readLine(data, offset);
          if (offset < 0) return;
          if (this.#onLine(this.#lineText)) {
            this.#end(offset < data.length);
            return;
          }
        }
      }
    }
  }

  /** The connection ended: completes a body read until close; else the response was cut short (E_UPSTREAM_CLOSED). */
  finish(): void {
    if (this.#state === S.untilClose) {
      this.#state = S.idle;
      this.#events.onResponseEnd([], false);
      return;
    }
    if (this.#state !== S.idle) {
      throw new ProxyError(
        'E_UPSTREAM_CLOSED',
        'the upstream connection closed before the response was complete',
      );
    }
  }

  #end(extra: boolean): void {
    this.#state = S.idle;
    const trailers = this.#trailers;
    this.#trailers = [];
    this.#events.onResponseEnd(trailers, this.#keepAlive && !extra);
  }

  /**
   * Reads the CRLF-terminated line at `offset` into `#lineText`; returns the
   * offset after it, or -1 when it is incomplete (kept for the next read).
   */
  #readLine(data: Buffer, offset: number): number {
    const pending = this.#pending;
    const buffer = pending ? Buffer.concat([pending, data.subarray(offset)]) : data;
    const start = pending ? 0 : offset;
    const lf = buffer.indexOf(10, start);
    if (lf < 0) {
      if (buffer.length - start > MAX_LINE_BYTES)
        throw upstreamError(`a line longer than ${MAX_LINE_BYTES} bytes`);
      this.#pending = pending ? buffer : Buffer.from(data.subarray(offset));
      return -1;
    }
    if (lf === start || buffer[lf - 1] !== 13) throw upstreamError('a line ends with LF alone');
    this.#pending = undefined;
    this.#lineText = buffer.toString('latin1', start, lf - 1);
    return offset + lf + 1 - start - (pending?.length ?? 0);
  }

  /** A chunk-size, chunk end or trailer line; true when the response is complete. */
  #onLine(line: string): boolean {
    if (this.#state === S.chunkEnd) {
      if (line !== '') throw upstreamError('a chunk is longer than its size says');
      this.#state = S.chunkSize;
      return false;
    }
    if (this.#state === S.chunkSize) {
      const match = CHUNK_SIZE.exec(line);
      if (!match) throw upstreamError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
      this.#remaining = Number.parseInt(match[1] as string, 16);
      this.#state = this.#remaining === 0 ? S.trailers : S.chunkData;
      return false;
    }
    if (line === '') return true;
    if (this.#trailers.length >= 2 * MAX_HEADERS) throw upstreamError('too many trailers');
    pushField(this.#trailers, line, 0, line.length);
    return false;
  }

  #readHead(data: Buffer, offset: number): number {
    let buffer = data;
    let start = offset;
    const pending = this.#pending;
    if (pending) {
      buffer = Buffer.concat([pending, data.subarray(offset)]);
      start = 0;
    }
    const end = buffer.indexOf(CRLF2, pending ? Math.max(0, pending.length - 3) : start);
    if (end < 0) {
      if (buffer.length - start > MAX_RESPONSE_HEAD_BYTES)
        throw upstreamError(`response head larger than ${MAX_RESPONSE_HEAD_BYTES} bytes`);
      this.#pending = pending ? buffer : Buffer.from(data.subarray(offset));
      return data.length;
    }
    if (end - start > MAX_RESPONSE_HEAD_BYTES)
      throw upstreamError(`response head larger than ${MAX_RESPONSE_HEAD_BYTES} bytes`);
    this.#pending = undefined;
    this.#onHead(buffer, start, end + 4);
    const consumed = end + 4 - start;
    return pending ? offset + consumed - pending.length : offset + consumed;
  }

  /** The head in `buf` from `start` to `end` (past its blank line). */
  #onHead(buf: Buffer, start: number, end: number): void {
    let head: ResponseHead;
    let framing: ReturnType<typeof responseFraming>;
    try {
      head = parseResponseHead(buf, start, end, { limits: LIMITS, drop: HOP_BY_HOP_FIELDS });
      framing = responseFraming(head, head.status, this.#bodiless ? 'HEAD' : 'GET');
    } catch (error) {
      throw upstreamError((error as Error).message);
    }
    const code = head.status;
    if (code < 200) {
      if (code === 101) throw upstreamError('101 Switching Protocols to a request that asked for no upgrade');
      return; // 100 Continue, 103 Early Hints...: the final head follows.
    }
    // A Transfer-Encoding overrides Content-Length; the pair may be smuggling, so never reuse.
    const smuggling = head.transferEncoding !== '' && head.contentLength !== -1;
    this.#keepAlive = (head.minorVersion === 1 || head.keepAlive) && !head.close && !smuggling;
    if (framing === 'none') this.#state = S.done;
    else if (framing === 'chunked') this.#state = S.chunkSize;
    else if (framing === 'length') {
      this.#remaining = head.contentLength;
      this.#state = S.length;
    } else {
      this.#state = S.untilClose;
      this.#keepAlive = false;
    }
    // Rarely more lines go: fields the Connection field names, a Content-Length beside a Transfer-Encoding.
    let dropped = head.dropped;
    let hasLength = head.contentLength !== -1;
    if (head.connectionNames !== undefined || smuggling) {
      const more = [...HOP_BY_HOP_FIELDS, ...(head.connectionNames ?? [])];
      if (smuggling) more.push('content-length');
      if (more.includes('content-length')) hasLength = false;
      dropped = parseResponseHead(buf, start, end, { limits: LIMITS, drop: more }).dropped;
    }
    this.#events.onResponseHead({
      status: code,
      grpcStatus: head.grpcStatus,
      hasLength,
      lines: forwardedLines(buf, start, end, code, dropped),
    });
  }
}

/**
 * Copies the head at `buf[start, end)` without its blank line and the lines
 * `dropped` names (offsets from `start`), as HTTP/1.1.
 */
function forwardedLines(
  buf: Buffer,
  start: number,
  end: number,
  status: number,
  dropped: readonly number[],
): Buffer {
  const lineEnd = buf.indexOf(13, start) + 2;
  // "HTTP/1.x 200 " and no more: the reason phrase is optional, but clients expect one.
  const statusLine = lineEnd - start > 15 ? undefined : `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  let size = (statusLine?.length ?? lineEnd - start) + end - 2 - lineEnd;
  for (let k = 0; k < dropped.length; k += 2) size -= (dropped[k + 1] as number) - (dropped[k] as number);
  const out = Buffer.allocUnsafe(size);
  let at: number;
  if (statusLine === undefined) {
    at = buf.copy(out, 0, start, lineEnd);
    out[7] = 0x31; // HTTP/1.0 upstream: the application's connection is HTTP/1.1
  } else at = out.write(statusLine, 0, 'latin1');
  let from = lineEnd;
  for (let k = 0; k < dropped.length; k += 2) {
    at += buf.copy(out, at, from, start + (dropped[k] as number));
    from = start + (dropped[k + 1] as number);
  }
  buf.copy(out, at, from, end - 2);
  return out;
}

function upstreamError(reason: string): ProxyError {
  return new ProxyError('E_UPSTREAM_RESPONSE', `malformed response from upstream: ${reason}`);
}

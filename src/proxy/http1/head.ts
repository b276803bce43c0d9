import { Http1Error } from './error.ts';

/** Bounds on one message head (start line plus header fields). */
export interface HeadLimits {
  /** Most bytes in a head, up to and including its blank line. */
  maxHeadBytes: number;
  /** Most header fields in a head. */
  maxHeaders: number;
}

/** Node's own default head size (16 KiB), and more fields than any real client sends. */
export const DEFAULT_HEAD_LIMITS: Readonly<HeadLimits> = Object.freeze({
  maxHeadBytes: 16 * 1024,
  maxHeaders: 256,
});

/** What the header fields of a head say about framing and connection handling. */
export interface Http1Fields {
  /** Bytes of the head, from its first byte through the blank line. */
  length: number;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: number;
  /** The Content-Length, or -1 without one. */
  contentLength: number;
  /** Every Transfer-Encoding field joined with ", ", lower-cased; '' without one. */
  transferEncoding: string;
  /** Connection names `close`. */
  close: boolean;
  /** Connection names `keep-alive` (what keeps an HTTP/1.0 connection open). */
  keepAlive: boolean;
  /** Connection names `upgrade` and an Upgrade field is present. */
  upgrade: boolean;
  /**
   * Other field names the Connection field lists, lower-cased (fields that
   * belong to this connection only); undefined when it lists none.
   */
  connectionNames: string[] | undefined;
  /** The Host field's value, if any. */
  host: string | undefined;
  /** The grpc-status field's value, if any. */
  grpcStatus: string | undefined;
  /** An Expect field asks for `100-continue`. */
  expectContinue: boolean;
  /**
   * [start, end) offsets from the head's first byte, in pairs, of the whole
   * lines (CRLF included) of fields whose names were asked to be dropped.
   */
  dropped: readonly number[];
  /** With `ParseOptions.rawHeaders`: the fields not dropped, as [name, value, name, value, ...]. */
  rawHeaders: string[] | undefined;
}

/** A parsed request head. */
export interface RequestHead extends Http1Fields {
  method: string;
  /** The request target as sent (origin-form for proxied requests). */
  target: string;
}

/** A parsed response head. */
export interface ResponseHead extends Http1Fields {
  status: number;
}

/** Options for the head parsers. */
export interface ParseOptions {
  limits?: HeadLimits;
  /** Lower-case field names whose lines are reported in `dropped`. */
  drop?: readonly string[];
  /** Collect the fields' names and values (as Latin-1 strings) in the head's `rawHeaders`. */
  rawHeaders?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const HEAD_END = Buffer.from('\r\n\r\n');
const BARE_LF_END = Buffer.from('\n\n');

/** tchar (RFC 9110 §5.6.2): what field names and methods are made of. */
const TOKEN = byteClass((b) => /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(String.fromCharCode(b)));
/** Field value bytes (RFC 9110 §5.5): visible ASCII, space, tab and obs-text. */
const FIELD_VALUE = byteClass((b) => b === HTAB || (b >= SP && b !== 0x7f));
/** Request-target bytes: visible ASCII only. */
const TARGET = byteClass((b) => b > SP && b < 0x7f);

function byteClass(test: (b: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) table[b] = test(b) ? 1 : 0;
  return table;
}

/** Skips empty lines (CRLF) before a request line, which RFC 9112 §2.2 asks servers to ignore. */
export function skipEmptyLines(buf: Buffer, pos: number, end: number): number {
  while (pos + 1 < end && buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
  return pos;
}

/**
 * Finds the end of the head that starts at `start`: the offset just past its
 * blank line, or -1 while it is incomplete. Throws an Http1Error when the
 * head is already longer than the limit or ends its lines with a bare LF.
 */
export function findHeadEnd(buf: Buffer, start: number, limits: HeadLimits = DEFAULT_HEAD_LIMITS): number {
  const at = buf.indexOf(HEAD_END, start);
  if (at !== -1 && at + 4 - start <= limits.maxHeadBytes) return at + 4;
  if (at !== -1 || buf.length - start > limits.maxHeadBytes) {
    throw new Http1Error('E_HTTP1_HEAD_TOO_LARGE', `message head larger than ${limits.maxHeadBytes} bytes`);
  }
  if (buf.indexOf(BARE_LF_END, start) !== -1) {
    throw new Http1Error('E_HTTP1_LINE_END', 'message head ends its lines with a bare LF instead of CRLF');
  }
  return -1;
}

/**
 * Parses the request head in `buf` from `start` to `end` (as found by
 * `findHeadEnd`): request line and header fields, strictly. Throws an
 * Http1Error naming the first fault: bad request line, unsupported version,
 * bad field name or value, obs-fold, bare CR, too many fields, a bad or
 * conflicting Content-Length, a missing or repeated Host in HTTP/1.1.
 */
export function parseRequestHead(
  buf: Buffer,
  start: number,
  end: number,
  options: ParseOptions = {},
): RequestHead {
  const lineEnd = buf.indexOf(CR, start);
  let i = start;
  while (i < lineEnd && TOKEN[buf[i] as number]) i++;
  if (i === start || buf[i] !== SP) throw badStartLine('request', buf, start, lineEnd);
  const method = latin1(buf, start, i);
  const targetStart = ++i;
  while (i < lineEnd && TARGET[buf[i] as number]) i++;
  if (i === targetStart || buf[i] !== SP) throw badStartLine('request', buf, start, lineEnd);
  const target = latin1(buf, targetStart, i);
  if (lineEnd - i - 1 !== 8) throw badStartLine('request', buf, start, lineEnd);
  const head = newHead(end - start, readVersion(buf, i + 1)) as RequestHead;
  head.method = method;
  head.target = target;
  const hosts = parseFields(buf, start, lineEnd, end, head, options);
  if (hosts > 1) throw new Http1Error('E_HTTP1_HOST', 'request has more than one Host field');
  if (hosts === 0 && head.minorVersion === 1) {
    throw new Http1Error('E_HTTP1_HOST', 'HTTP/1.1 request has no Host field');
  }
  return head;
}

/**
 * Parses the response head in `buf` from `start` to `end` (as found by
 * `findHeadEnd`): status line and header fields, with the same strictness as
 * `parseRequestHead` (Host is not checked).
 */
export function parseResponseHead(
  buf: Buffer,
  start: number,
  end: number,
  options: ParseOptions = {},
): ResponseHead {
  const lineEnd = buf.indexOf(CR, start);
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (lineEnd - start < 12 || (lineEnd - start > 12 && buf[start + 12] !== SP)) {
    throw badStartLine('status', buf, start, lineEnd);
  }
  const minor = readVersion(buf, start);
  if (buf[start + 8] !== SP) throw badStartLine('status', buf, start, lineEnd);
  let status = 0;
  for (let i = start + 9; i < start + 12; i++) {
    const digit = (buf[i] as number) - 0x30;
    if (digit < 0 || digit > 9) throw badStartLine('status', buf, start, lineEnd);
    status = status * 10 + digit;
  }
  if (status < 100) throw badStartLine('status', buf, start, lineEnd);
  for (let i = start + 13; i < lineEnd; i++) {
    if (!FIELD_VALUE[buf[i] as number]) throw badStartLine('status', buf, start, lineEnd);
  }
  const head = newHead(end - start, minor) as ResponseHead;
  head.status = status;
  parseFields(buf, start, lineEnd, end, head, options);
  return head;
}

/** `dropped` of heads that dropped nothing: most of them, so they share it. */
const NONE: readonly number[] = Object.freeze([]);

function newHead(length: number, minorVersion: number): Http1Fields {
  return {
    length,
    minorVersion,
    contentLength: -1,
    transferEncoding: '',
    close: false,
    keepAlive: false,
    upgrade: false,
    connectionNames: undefined,
    host: undefined,
    grpcStatus: undefined,
    expectContinue: false,
    dropped: NONE,
    rawHeaders: undefined,
  };
}

/** Reads "HTTP/1.0" or "HTTP/1.1" at `at`; returns the minor version. */
function readVersion(buf: Buffer, at: number): number {
  if (
    buf[at] !== 0x48 ||
    buf[at + 1] !== 0x54 ||
    buf[at + 2] !== 0x54 ||
    buf[at + 3] !== 0x50 ||
    buf[at + 4] !== 0x2f ||
    buf[at + 5] !== 0x31 ||
    buf[at + 6] !== 0x2e ||
    (buf[at + 7] !== 0x30 && buf[at + 7] !== 0x31)
  ) {
    const seen = JSON.stringify(latin1(buf, at, Math.min(at + 8, buf.length)));
    throw new Http1Error('E_HTTP1_VERSION', `unsupported HTTP version ${seen}: only HTTP/1.0 and 1.1`);
  }
  return (buf[at + 7] as number) - 0x30;
}

function badStartLine(kind: 'request' | 'status', buf: Buffer, start: number, lineEnd: number): Http1Error {
  const end = lineEnd === -1 ? Math.min(buf.length, start + 80) : Math.min(lineEnd, start + 80);
  const shown = JSON.stringify(latin1(buf, start, end));
  return new Http1Error(
    kind === 'request' ? 'E_HTTP1_REQUEST_LINE' : 'E_HTTP1_STATUS_LINE',
    `malformed ${kind} line ${shown}`,
  );
}

/**
 * Parses the field lines after the start line (whose CR is at `lineEnd`) up to
 * the blank line ending at `end`, filling `head`. Returns the number of Host fields.
 */
function parseFields(
  buf: Buffer,
  start: number,
  lineEnd: number,
  end: number,
  head: Http1Fields,
  options: ParseOptions,
): number {
  if (buf[lineEnd + 1] !== LF) throw bareCr();
  const maxHeaders = (options.limits ?? DEFAULT_HEAD_LIMITS).maxHeaders;
  const drop = options.drop;
  const raw: string[] | undefined = options.rawHeaders ? [] : undefined;
  head.rawHeaders = raw;
  const last = end - 2;
  let pos = lineEnd + 2;
  let count = 0;
  let hosts = 0;
  let upgradeField = false;
  let connectionUpgrade = false;
  while (pos < last) {
    const lineStart = pos;
    const first = buf[pos];
    if (first === SP || first === HTAB) {
      throw new Http1Error('E_HTTP1_OBS_FOLD', 'a header field continues on the next line (obs-fold)');
    }
    while (TOKEN[buf[pos] as number]) pos++;
    const nameLength = pos - lineStart;
    if (nameLength === 0 || buf[pos] !== COLON) throw badName(buf, lineStart, pos);
    pos++;
    while (buf[pos] === SP || buf[pos] === HTAB) pos++;
    const valueStart = pos;
    let valueEnd = pos;
    for (;;) {
      const b = buf[pos] as number;
      if (b === CR) break;
      if (!FIELD_VALUE[b]) {
        throw new Http1Error(
          'E_HTTP1_FIELD_VALUE',
          `header field ${JSON.stringify(latin1(buf, lineStart, lineStart + nameLength))} has a control character (0x${b.toString(16).padStart(2, '0')}) in its value`,
        );
      }
      pos++;
      if (b !== SP && b !== HTAB) valueEnd = pos;
    }
    if (buf[pos + 1] !== LF) throw bareCr();
    pos += 2;
    if (++count > maxHeaders) {
      throw new Http1Error('E_HTTP1_TOO_MANY_FIELDS', `more than ${maxHeaders} header fields`);
    }
    // A dropped field still counts for framing and connection handling (a dropped Connection field).
    if (drop !== undefined && isOneOf(buf, lineStart, nameLength, drop)) {
      if (head.dropped === NONE) head.dropped = [];
      (head.dropped as number[]).push(lineStart - start, pos - start);
    } else raw?.push(latin1(buf, lineStart, lineStart + nameLength), latin1(buf, valueStart, valueEnd));
    switch (nameLength) {
      case 4:
        if (nameIs(buf, lineStart, 'host')) {
          hosts++;
          head.host = latin1(buf, valueStart, valueEnd);
        }
        break;
      case 6:
        if (nameIs(buf, lineStart, 'expect')) {
          head.expectContinue = latin1(buf, valueStart, valueEnd).toLowerCase() === '100-continue';
        }
        break;
      case 7:
        if (nameIs(buf, lineStart, 'upgrade')) upgradeField = true;
        break;
      case 10:
        if (nameIs(buf, lineStart, 'connection')) {
          connectionUpgrade = readConnection(latin1(buf, valueStart, valueEnd), head) || connectionUpgrade;
        }
        break;
      case 11:
        if (nameIs(buf, lineStart, 'grpc-status')) head.grpcStatus = latin1(buf, valueStart, valueEnd);
        break;
      case 14:
        if (nameIs(buf, lineStart, 'content-length')) readContentLength(buf, valueStart, valueEnd, head);
        break;
      case 17:
        if (nameIs(buf, lineStart, 'transfer-encoding')) {
          const value = latin1(buf, valueStart, valueEnd).toLowerCase();
          head.transferEncoding = head.transferEncoding ? `${head.transferEncoding}, ${value}` : value;
        }
        break;
    }
  }
  head.upgrade = upgradeField && connectionUpgrade;
  return hosts;
}

/** Notes `close`, `keep-alive` and other names in `head`; returns whether the value names `upgrade`. */
function readConnection(value: string, head: Http1Fields): boolean {
  let upgrade = false;
  for (const raw of value.split(',')) {
    const token = raw.trim().toLowerCase();
    if (token === 'close') head.close = true;
    else if (token === 'keep-alive') head.keepAlive = true;
    else if (token === 'upgrade') upgrade = true;
    else if (token !== '') {
      head.connectionNames ??= [];
      head.connectionNames.push(token);
    }
  }
  return upgrade;
}

/** Content-Length: digits, or a list of equal values ("5, 5"), which RFC 9112 §6.3 lets us accept. */
function readContentLength(buf: Buffer, start: number, end: number, head: Http1Fields): void {
  let pos = start;
  for (;;) {
    let value = 0;
    const digits = pos;
    while (pos < end && (buf[pos] as number) >= 0x30 && (buf[pos] as number) <= 0x39) {
      value = value * 10 + ((buf[pos] as number) - 0x30);
      pos++;
    }
    if (pos === digits || pos - digits > 15) {
      throw new Http1Error(
        'E_HTTP1_CONTENT_LENGTH',
        `invalid Content-Length ${JSON.stringify(latin1(buf, start, end))}`,
      );
    }
    if (head.contentLength !== -1 && head.contentLength !== value) {
      throw new Http1Error(
        'E_HTTP1_CONTENT_LENGTH',
        `conflicting Content-Length values (${head.contentLength} and ${value})`,
      );
    }
    head.contentLength = value;
    while (buf[pos] === SP || buf[pos] === HTAB) pos++;
    if (pos === end) return;
    if (buf[pos] !== 0x2c) {
      throw new Http1Error(
        'E_HTTP1_CONTENT_LENGTH',
        `invalid Content-Length ${JSON.stringify(latin1(buf, start, end))}`,
      );
    }
    pos++;
    while (buf[pos] === SP || buf[pos] === HTAB) pos++;
  }
}

/** Whether the name at `at` equals `lower` ignoring ASCII case (names are tokens, so |0x20 is safe). */
function nameIs(buf: Buffer, at: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    if (((buf[at + k] as number) | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

function isOneOf(buf: Buffer, at: number, length: number, names: readonly string[]): boolean {
  for (const name of names) if (name.length === length && nameIs(buf, at, name)) return true;
  return false;
}

function badName(buf: Buffer, lineStart: number, pos: number): Http1Error {
  const lineEnd = buf.indexOf(CR, lineStart);
  const shown = JSON.stringify(latin1(buf, lineStart, Math.min(lineEnd, lineStart + 80)));
  const why = buf[pos] === SP || buf[pos] === HTAB ? 'whitespace before the colon' : 'not a field name';
  return new Http1Error('E_HTTP1_FIELD_NAME', `malformed header line ${shown}: ${why}`);
}

function bareCr(): Http1Error {
  return new Http1Error('E_HTTP1_LINE_END', 'message head has a CR that is not followed by LF');
}

function latin1(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end);
}

/** Fields of one connection (RFC 9110 §7.6.1), lower case: never passed on. */
export const HOP_BY_HOP_FIELDS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];
const HOP_BY_HOP = new Set(HOP_BY_HOP_FIELDS);

/** Header names the Connection header lists (more hop-by-hop headers), lower case; undefined when none. */
function connectionNamed(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      named ??= new Set();
      for (const token of (raw[i + 1] as string).split(',')) named.add(token.trim().toLowerCase());
    }
  }
  return named;
}

const NONE: readonly string[] = [];

/**
 * Whether a header (lower-case name) is passed on: not hop-by-hop, not named
 * by the Connection header (`named`), unless `keep` lists it.
 */
function passes(lower: string, named: Set<string> | undefined, keep: readonly string[]): boolean {
  if (keep.length > 0 && keep.includes(lower)) return true;
  return !HOP_BY_HOP.has(lower) && !named?.has(lower);
}

/**
 * Copies raw HTTP/1 headers (name, value, name, value...) minus hop-by-hop
 * ones and those the Connection header names; `host`, when given, replaces the
 * Host header. `keep` lists hop-by-hop names to pass (e.g. upgrade).
 */
export function forwardRawHeaders(raw: string[], host?: string, keep: readonly string[] = NONE): string[] {
  const named = connectionNamed(raw);
  const out: string[] = [];
  let sawHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (!passes(lower, named, keep)) continue;
    if (lower === 'host') {
      if (sawHost) continue;
      sawHost = true;
      out.push(name, host ?? (raw[i + 1] as string));
    } else out.push(name, raw[i + 1] as string);
  }
  if (!sawHost && host) out.push('Host', host);
  return out;
}

/**
 * The head of a request to send upstream as HTTP/1.1: the request line, the
 * forwarded headers (see `forwardRawHeaders`) and, for a body of unknown
 * length (`chunked`), `Transfer-Encoding: chunked`. Latin-1 text, as received.
 */
export function requestHeadText(
  method: string,
  path: string,
  raw: readonly string[],
  host: string | undefined,
  chunked: boolean,
): string {
  const named = connectionNamed(raw);
  let text = `${method} ${path} HTTP/1.1\r\n`;
  let sawHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (!passes(lower, named, NONE)) continue;
    if (lower === 'host') {
      if (sawHost) continue;
      sawHost = true;
      text += `${name}: ${host ?? raw[i + 1]}\r\n`;
    } else text += `${name}: ${raw[i + 1]}\r\n`;
  }
  if (!sawHost && host) text += `Host: ${host}\r\n`;
  return chunked ? `${text}Transfer-Encoding: chunked\r\n\r\n` : `${text}\r\n`;
}

/** What a request's raw headers say about its body: its Content-Length and whether it has a Transfer-Encoding. */
export function bodyFraming(raw: readonly string[]): {
  contentLength: string | undefined;
  transferEncoding: boolean;
} {
  let contentLength: string | undefined;
  let transferEncoding = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') contentLength = raw[i + 1];
    else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') transferEncoding = true;
  }
  return { contentLength, transferEncoding };
}

/** Request methods that may be sent twice without changing the outcome. */
export function isIdempotent(method: string): boolean {
  return (
    method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE'
  );
}

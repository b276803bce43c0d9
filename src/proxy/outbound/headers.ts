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
 * The head of a request to send upstream as HTTP/1.1, from `head`, the
 * request head as the application sent it: a request line with `method` and
 * `path`, `Host: host` first when `host` is given, the field lines as received
 * except those `dropped` names (pairs of [start, end) offsets in `head`), and
 * `Transfer-Encoding: chunked` for a body of unknown length (`chunked`).
 */
export function upstreamRequestHead(
  head: Buffer,
  dropped: readonly number[],
  method: string,
  path: string,
  host: string | undefined,
  chunked: boolean,
): Buffer {
  const first = `${method} ${path} HTTP/1.1\r\n${host === undefined ? '' : `Host: ${host}\r\n`}`;
  const last = chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : '\r\n';
  const fieldsStart = head.indexOf(13) + 2;
  const fieldsEnd = head.length - 2;
  let size = first.length + fieldsEnd - fieldsStart + last.length;
  for (let k = 0; k < dropped.length; k += 2) size -= (dropped[k + 1] as number) - (dropped[k] as number);
  const out = Buffer.allocUnsafe(size);
  let at = out.write(first, 0, 'latin1');
  let from = fieldsStart;
  for (let k = 0; k < dropped.length; k += 2) {
    at += head.copy(out, at, from, dropped[k] as number);
    from = dropped[k + 1] as number;
  }
  at += head.copy(out, at, from, fieldsEnd);
  out.write(last, at, 'latin1');
  return out;
}

/** Request methods that may be sent twice without changing the outcome. */
export function isIdempotent(method: string): boolean {
  return (
    method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE'
  );
}

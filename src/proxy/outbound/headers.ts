const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

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

/**
 * Calls `each` with the raw HTTP/1 headers (name, value, name, value...) to
 * pass on: minus hop-by-hop ones and those the Connection header names,
 * `host` (when given) replacing the Host header, `keep` listing hop-by-hop
 * names to pass (e.g. upgrade).
 */
function eachForwarded(
  raw: readonly string[],
  host: string | undefined,
  keep: readonly string[],
  each: (name: string, value: string) => void,
): void {
  const named = connectionNamed(raw);
  let sawHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (keep.length > 0 && keep.includes(lower)) {
      each(name, raw[i + 1] as string);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    if (lower === 'host') {
      if (sawHost) continue;
      sawHost = true;
      each(name, host ?? (raw[i + 1] as string));
      continue;
    }
    each(name, raw[i + 1] as string);
  }
  if (!sawHost && host) each('Host', host);
}

/**
 * Copies raw HTTP/1 headers (name, value, name, value...) minus hop-by-hop
 * ones and those the Connection header names; `host`, when given, replaces the
 * Host header. `keep` lists hop-by-hop names to pass (e.g. upgrade).
 */
export function forwardRawHeaders(raw: string[], host?: string, keep: readonly string[] = []): string[] {
  const out: string[] = [];
  eachForwarded(raw, host, keep, (name, value) => out.push(name, value));
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
  let text = `${method} ${path} HTTP/1.1\r\n`;
  eachForwarded(raw, host, NONE, (name, value) => {
    text += `${name}: ${value}\r\n`;
  });
  return chunked ? `${text}Transfer-Encoding: chunked\r\n\r\n` : `${text}\r\n`;
}

const NONE: readonly string[] = [];

/** Request methods that may be sent twice without changing the outcome. */
export function isIdempotent(method: string): boolean {
  return (
    method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE'
  );
}

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

/**
 * Copies raw HTTP/1 headers (name, value, name, value...) minus hop-by-hop
 * ones and those the Connection header names; `host`, when given, replaces the
 * Host header. `keep` lists hop-by-hop names to pass (e.g. upgrade).
 */
export function forwardRawHeaders(raw: string[], host?: string, keep: readonly string[] = []): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') {
      for (const token of (raw[i + 1] as string).split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  let sawHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (keep.includes(lower)) {
      out.push(name, raw[i + 1] as string);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    if (lower === 'host') {
      if (sawHost) continue;
      sawHost = true;
      out.push(name, host ?? (raw[i + 1] as string));
      continue;
    }
    out.push(name, raw[i + 1] as string);
  }
  if (!sawHost && host) out.push('Host', host);
  return out;
}

/** Request methods that may be sent twice without changing the outcome. */
export function isIdempotent(method: string): boolean {
  return (
    method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || method === 'DELETE'
  );
}

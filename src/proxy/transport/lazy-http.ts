import type Http from 'node:http';

// The proxy serves HTTP/1.1 with its own parser (src/proxy/http1); node:http is needed only to
// refuse HTTP/1 requests by policy and to turn HTTP/1.1 carried over HTTP/2 back into HTTP/1.1,
// so it is loaded on first use (about 2 MB of RSS), like node:http2 (lazy-http2.ts).
let loaded: typeof Http | undefined;

/** node:http, loaded on the first call. */
export function http(): typeof Http {
  loaded ??= process.getBuiltinModule('node:http');
  return loaded;
}

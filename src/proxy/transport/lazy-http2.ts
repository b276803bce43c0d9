import type Http2 from 'node:http2';
import type { Http2Server } from 'node:http2';

// node:http2 adds about 2 MB of RSS to a proxy once loaded, and most never see an
// HTTP/2 connection: modules reach it through this accessor, on first use,
// instead of importing it (an import loads it when the proxy starts).
let loaded: typeof Http2 | undefined;

/** node:http2, loaded on the first call. */
export function http2(): typeof Http2 {
  loaded ??= process.getBuiltinModule('node:http2');
  return loaded;
}

/**
 * Returns a getter for one HTTP/2 server that takes connections handed over
 * with `emit('connection', socket)`. The server is created, and given its
 * listeners by `setup`, on the getter's first call.
 */
export function lazyHttp2Server(setup: (server: Http2Server) => void): () => Http2Server {
  let server: Http2Server | undefined;
  return () => {
    if (!server) {
      server = http2().createServer();
      setup(server);
    }
    return server;
  };
}

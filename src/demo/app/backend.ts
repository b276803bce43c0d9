// The demo back end: answers which cluster and workload served the call, and the caller its proxy
// verified (`strait-client-id`, set by the proxy whatever the caller sent), over HTTP/1.1 on PORT
// and over gRPC (HTTP/2 cleartext, behind its proxy) on GRPC_PORT. `/ready` is its readiness check.
import http from 'node:http';
import http2 from 'node:http2';
import { CLIENT_ID_HEADER } from './caller.ts';
import { frame, GRPC_CONTENT_TYPE, HELLO_PATH } from './grpc.ts';

const host = process.env.HOST ?? '127.0.0.1';
const answer = (caller: string | string[] | undefined) => ({
  cluster: process.env.STRAIT_CLUSTER,
  workload: process.env.STRAIT_WORKLOAD_NAME,
  caller: typeof caller === 'string' ? caller : undefined,
});

http
  .createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify(request.url === '/ready' ? { ready: true } : answer(request.headers[CLIENT_ID_HEADER])),
    );
  })
  .listen(Number(process.env.PORT ?? 8080), host);

const grpc = http2.createServer();
grpc.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  stream.resume();
  stream.on('end', () => {
    if (headers[':path'] !== HELLO_PATH) {
      stream.respond(
        { ':status': 200, 'content-type': GRPC_CONTENT_TYPE, 'grpc-status': '12' },
        { endStream: true },
      );
      return;
    }
    stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frame(answer(headers[CLIENT_ID_HEADER])));
  });
});
grpc.listen(Number(process.env.GRPC_PORT ?? 9090), host);

process.on('SIGTERM', () => process.exit(0));

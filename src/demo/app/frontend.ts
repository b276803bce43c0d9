// The demo front end: calls the back end through its proxy every INTERVAL_MS, once over HTTP/1.1
// (the proxy as HTTP_PROXY) and once over gRPC (HTTP/2 to the proxy, the service in :authority),
// and serves on PORT what it saw:
//   GET /stats?since=MS      answers per protocol and cluster since a time (ms since the epoch)
//   GET /call?service=NAME   one HTTP and one gRPC call to NAME.<namespace>, answered as JSON; these
//                            claim a made-up identity in `strait-client-id`, which the back end's
//                            proxy replaces with the one it verified
import http from 'node:http';
import http2 from 'node:http2';
import { CLIENT_ID_HEADER, FORGED_CALLER } from './caller.ts';
import { frame, GRPC_CONTENT_TYPE, HELLO_PATH, unframe } from './grpc.ts';

const proxy = new URL(process.env.HTTP_PROXY ?? 'http://127.0.0.1:4140');
const namespace = process.env.STRAIT_WORKLOAD_NAMESPACE ?? 'default';
const target = process.env.TARGET_SERVICE ?? 'backend';
const interval = Number(process.env.INTERVAL_MS ?? 100);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

type Answer = { cluster?: string; workload?: string; caller?: string };
/** [time, protocol, cluster or `error`] for every call of the steady loop. */
const seen: [number, 'http' | 'grpc', string][] = [];

const authority = (service: string, port: number) => `${service}.${namespace}.svc.cluster.local:${port}`;
const forged = { [CLIENT_ID_HEADER]: FORGED_CALLER };

function callHttp(service: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: proxy.hostname,
        port: Number(proxy.port),
        path: `http://${authority(service, 8080)}/`,
        headers,
        agent,
        timeout: 5000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => {
          if (response.statusCode === 200) resolve(JSON.parse(body) as Answer);
          else reject(new Error(`HTTP ${response.statusCode}: ${body.trim()}`));
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end();
  });
}

let session: http2.ClientHttp2Session | undefined;
function grpcSession(): http2.ClientHttp2Session {
  if (!session || session.closed || session.destroyed) {
    const opened = http2.connect(`http://${proxy.host}`);
    opened.on('error', () => {});
    opened.on('close', () => {
      if (session === opened) session = undefined;
    });
    session = opened;
  }
  return session;
}

function callGrpc(service: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = grpcSession().request({
      ':method': 'POST',
      ':path': HELLO_PATH,
      ':authority': authority(service, 9090),
      'content-type': GRPC_CONTENT_TYPE,
      te: 'trailers',
      ...headers,
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    stream.setTimeout(5000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('response', (headers) => {
      status = headers['grpc-status'] as string | undefined;
    });
    stream.on('trailers', (trailers) => {
      status = trailers['grpc-status'] as string | undefined;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('close', () => {
      if (status !== '0') reject(new Error(`gRPC status ${status ?? 'missing'} (${stream.rstCode})`));
      else {
        try {
          resolve(unframe(Buffer.concat(chunks)) as Answer);
        } catch (error) {
          reject(error);
        }
      }
    });
    stream.end(frame({ from: process.env.STRAIT_CLUSTER }));
  });
}

function record(protocol: 'http' | 'grpc', call: Promise<Answer>): void {
  const at = Date.now();
  call.then(
    (answer) => seen.push([at, protocol, answer.cluster ?? 'unknown']),
    () => seen.push([at, protocol, 'error']),
  );
}

setInterval(() => {
  record('http', callHttp(target));
  record('grpc', callGrpc(target));
  const horizon = Date.now() - 600_000;
  while (seen.length > 0 && (seen[0] as [number, string, string])[0] < horizon) seen.shift();
}, interval);

function stats(since: number): Record<string, Record<string, number>> {
  const counts: Record<string, Record<string, number>> = { http: {}, grpc: {} };
  for (const [at, protocol, outcome] of seen) {
    if (at < since) continue;
    const row = counts[protocol] as Record<string, number>;
    row[outcome] = (row[outcome] ?? 0) + 1;
  }
  return counts;
}

const settle = (call: Promise<Answer>) =>
  call.then(
    (answer) => ({ ok: true, ...answer }),
    (error: Error) => ({ ok: false, error: error.message }),
  );

http
  .createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://frontend');
    let body: unknown = { ready: true };
    if (url.pathname === '/stats') body = stats(Number(url.searchParams.get('since') ?? 0));
    else if (url.pathname === '/call') {
      const service = url.searchParams.get('service') ?? target;
      body = {
        http: await settle(callHttp(service, forged)),
        grpc: await settle(callGrpc(service, forged)),
      };
    }
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(body));
  })
  .listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));

// A steady client for failover tests: calls TARGET through its proxy (HTTP_PROXY) every
// INTERVAL_MS with METHOD (GET unless set; a POST is never retried by the proxy), with at most
// CONCURRENCY requests open at once (later ones wait for a socket), and serves what it saw on
// HOST:PORT as JSON at /stats.
import http from 'node:http';

const proxy = new URL(process.env.HTTP_PROXY ?? 'http://127.0.0.1:4140');
const target = process.env.TARGET ?? 'http://web.shop.svc.cluster.local:8080/';
const interval = Number(process.env.INTERVAL_MS ?? 20);
const method = process.env.METHOD ?? 'GET';
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(process.env.CONCURRENCY ?? 4) });
/** Every answer in order: [time ms, backend name or `error:<why>`]. */
const answers = [];

function call() {
  const started = Date.now();
  const request = http.request(
    { host: proxy.hostname, port: Number(proxy.port), method, path: target, agent, timeout: 5000 },
    (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => {
        answers.push([started, response.statusCode === 200 ? body.trim() : `error:${response.statusCode}`]);
      });
    },
  );
  request.on('timeout', () => request.destroy(new Error('timeout')));
  request.on('error', (error) => answers.push([started, `error:${error.message}`]));
  request.end();
}
setInterval(call, interval);

http
  .createServer((request, response) => {
    const since = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('since') ?? 0);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(answers.filter(([at]) => at >= since)));
  })
  .listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));

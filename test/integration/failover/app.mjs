// A backend for failover tests: answers with ANSWER (default: its workload name) on HOST:PORT.
// POST /fail makes every later answer a 500; POST /heal undoes it. /ready always answers 200,
// so a failing backend stays ready and only its callers see it fail.
import http from 'node:http';

const answer = process.env.ANSWER ?? process.env.STRAIT_WORKLOAD_NAME;
let failing = false;
const server = http.createServer((request, response) => {
  if (request.method === 'POST' && (request.url === '/fail' || request.url === '/heal')) {
    failing = request.url === '/fail';
    response.end('ok\n');
    return;
  }
  response.statusCode = failing && request.url !== '/ready' ? 500 : 200;
  response.end(`${answer}\n`);
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));

// A tiny application for workload tests: answers with its name on HOST:PORT,
// /ready says 200, /exit makes it exit with code 3.
import http from 'node:http';

const server = http.createServer((request, response) => {
  if (request.url === '/exit') {
    response.end('bye\n');
    setTimeout(() => process.exit(3), 50);
    return;
  }
  response.end(`hello from ${process.env.STRAIT_WORKLOAD_NAME}\n`);
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));

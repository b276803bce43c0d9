// A backend for failover tests: answers with its workload name on HOST:PORT.
import http from 'node:http';

const server = http.createServer((_request, response) => {
  response.end(`${process.env.STRAIT_WORKLOAD_NAME}\n`);
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));

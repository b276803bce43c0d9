// Listens on the given ports on every IPv4 and IPv6 address and answers each connection with
// one JSON line: which listener took it, and the original destination port
// when an iptables REDIRECT sent it there. Prints "ready" once listening.
import net from 'node:net';
import { originalDestination } from '../../../src/proxy/transport/original-dst.ts';

const [name, ...ports] = process.argv.slice(2);
const REDIRECT_PORTS = new Set([4140, 4143]);
await Promise.all(
  ports.flatMap((port) =>
    ['0.0.0.0', '::'].map(
      (host) =>
        new Promise<void>((resolve, reject) => {
          const server = net.createServer((socket) => {
            const local = socket.localPort as number;
            const original = REDIRECT_PORTS.has(local) ? originalDestination(socket).port : null;
            socket.end(`${JSON.stringify({ name, port: local, original })}\n`);
          });
          server.once('error', reject);
          server.listen({ port: Number(port), host, ipv6Only: host === '::' }, () => resolve());
        }),
    ),
  ),
);
process.stdout.write('ready\n');

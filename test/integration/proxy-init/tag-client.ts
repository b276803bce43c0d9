// Connects to HOST PORT (as UID when given) and prints what the server says.
import net from 'node:net';

const [host, port, uid] = process.argv.slice(2);
if (uid !== undefined) {
  process.setgid?.(Number(uid));
  process.setuid?.(Number(uid));
}
const socket = net.connect(Number(port), host as string);
let answer = '';
socket.setEncoding('utf8');
socket.on('data', (chunk: string) => {
  answer += chunk;
});
socket.on('end', () => process.stdout.write(answer));
socket.on('error', (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
});

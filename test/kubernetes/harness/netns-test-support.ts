// What the harness's network-namespace tests share: whether this machine can run
// them, and clients for servers that speak first (the proxy-init tag server).
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { originalDestinationAvailable } from '../../../src/proxy/transport/original-dst.ts';

/** Why network-namespace tests cannot run here (a skip reason), or false when they can. */
export function netnsUnsupported(tools: string[]): string | false {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const tool of tools) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `${tool} is not installed`;
  }
  if (!originalDestinationAvailable()) return 'the SO_ORIGINAL_DST addon is not built';
  return false;
}

/** Everything a server at host:port sends on a new connection until it ends it. */
export function readUntilEnd(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect({ host, port });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

/** The JSON line the tag server answers with: its name, the port that took the connection, where it was sent. */
export async function askTagServer(host: string, port: number): Promise<Record<string, unknown>> {
  return JSON.parse(await readUntilEnd(host, port));
}

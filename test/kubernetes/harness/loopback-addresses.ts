import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const added = new Set<string>();
let exitHookInstalled = false;

/**
 * Makes `ip` a local address by adding it to `lo` as a /32, so processes can
 * listen on a pod address that the API accepts (EndpointSlices refuse
 * 127.0.0.0/8). Needs root, as the test machines give.
 */
export async function addLoopbackAddress(ip: string): Promise<void> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const address of added) {
        try {
          execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo'], { stdio: 'ignore' });
        } catch {
          // Already gone.
        }
      }
    });
  }
  await run('ip', ['addr', 'replace', `${ip}/32`, 'dev', 'lo']);
  added.add(ip);
}

/** Removes an address added by addLoopbackAddress. */
export async function removeLoopbackAddress(ip: string): Promise<void> {
  if (!added.delete(ip)) return;
  await run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']).catch(() => {});
}

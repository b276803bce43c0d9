import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const buildScript = new URL('../../../scripts/kube/build-kubectl.sh', import.meta.url).pathname;

/** Whether Go is there to build kubectl with (scripts/kube/build-kubectl.sh looks in the same places). */
export function canBuildKubectl(): boolean {
  if (process.env.STRAIT_KUBECTL) return true;
  if (existsSync('/usr/local/go/bin/go')) return true;
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The path of kubectl at the pinned Kubernetes version: STRAIT_KUBECTL when
 * set, else built once into the kube cache (progress on stderr).
 */
export function kubectlBinary(): Promise<string> {
  if (process.env.STRAIT_KUBECTL) return Promise.resolve(process.env.STRAIT_KUBECTL);
  return new Promise((resolve, reject) => {
    const child = spawn(buildScript, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const path = out.trim().split('\n').at(-1);
      if (code === 0 && path && existsSync(path)) resolve(path);
      else reject(new Error(`scripts/kube/build-kubectl.sh failed (exit ${code}); its output is above`));
    });
  });
}

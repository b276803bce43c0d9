import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of the control-plane binaries the test clusters run. */
export interface KubeBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
}

const buildScript = new URL('../../../scripts/kube/build.sh', import.meta.url).pathname;

/** Whether a Go toolchain is on PATH or in /usr/local/go, as scripts/kube/build.sh looks for it. */
export function goInstalled(): boolean {
  if (existsSync('/usr/local/go/bin/go')) return true;
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

let pending: Promise<KubeBinaries> | undefined;

/**
 * Builds (once, into ~/.cache/strait/kube) or finds etcd, kube-apiserver and
 * kube-controller-manager. STRAIT_KUBE_BIN_DIR points at a directory of
 * prebuilt binaries instead. The build's progress goes to stderr.
 */
export function kubeBinaries(): Promise<KubeBinaries> {
  pending ??= locate();
  return pending;
}

async function locate(): Promise<KubeBinaries> {
  const dir = process.env.STRAIT_KUBE_BIN_DIR || (await build());
  const binaries = {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
  };
  for (const path of [binaries.etcd, binaries.kubeApiserver, binaries.kubeControllerManager]) {
    if (!existsSync(path)) throw new Error(`${path} is missing; remove ${dir} and build again`);
  }
  return binaries;
}

function build(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(buildScript, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const dir = out.trim().split('\n').at(-1);
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(`scripts/kube/build.sh failed (exit ${code}); its output is above`));
    });
  });
}

import { existsSync } from 'node:fs';
import { goInstalled, runKubeBuild } from '../../fixtures/kube-build.ts';

/** Whether kubectl is given (STRAIT_KUBECTL) or Go is there to build it with. */
export function canBuildKubectl(): boolean {
  return Boolean(process.env.STRAIT_KUBECTL) || goInstalled();
}

/**
 * The path of kubectl at the pinned Kubernetes version: STRAIT_KUBECTL when
 * set, else built once into the kube cache (progress on stderr).
 */
export async function kubectlBinary(): Promise<string> {
  if (process.env.STRAIT_KUBECTL) return process.env.STRAIT_KUBECTL;
  const path = await runKubeBuild('build-kubectl.sh');
  if (!existsSync(path))
    throw new Error(`scripts/kube/build-kubectl.sh printed ${path}, which does not exist`);
  return path;
}

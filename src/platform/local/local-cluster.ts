import { rmSync } from 'node:fs';
import type { ApiStore } from './api/client.ts';
import { releaseBlock } from './block-claims.ts';
import type { ClusterConfig } from './cluster-config.ts';
import { openClusterStore } from './cluster-store.ts';
import { startControlPlaneProcess, stopControlPlaneProcess } from './control-plane-process.ts';
import { type CreateClusterOptions, createCluster } from './create-cluster.ts';
import { clusterDirectory } from './home.ts';
import { deleteNetworkNamespace } from './netns.ts';

/** A local cluster brought up from code (what `strait local up` does). */
export interface LocalCluster {
  name: string;
  dir: string;
  config: ClusterConfig;
  /** A new admin store of the cluster; close it when done. */
  openStore(): ApiStore;
  /** Stops the control plane; with `deleteState`, removes the state directory too. */
  down(options?: { deleteState?: boolean }): Promise<void>;
}

/**
 * Creates the cluster's state directory when it does not exist, starts its
 * control-plane process when it is not running, and waits until the store
 * API answers.
 */
export async function upCluster(
  options: CreateClusterOptions & { env?: NodeJS.ProcessEnv },
): Promise<LocalCluster> {
  const { config } = await createCluster(options);
  const dir = clusterDirectory(options.home, options.name);
  await startControlPlaneProcess(dir, options.env ? { env: options.env } : {});
  return {
    name: options.name,
    dir,
    config,
    openStore: () => openClusterStore(dir),
    async down(downOptions = {}) {
      await stopControlPlaneProcess(dir);
      if (downOptions.deleteState) {
        if (config.netns) deleteNetworkNamespace(config.index, config.name);
        releaseBlock(config.index, dir);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

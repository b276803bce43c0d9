import { existsSync, readFileSync } from 'node:fs';
import { StraitError } from '../../core/errors.ts';
import { type ApiStore, createApiStore } from './api/client.ts';
import type { ApiCredential } from './api/kubeconfig.ts';
import { apiUrl, clusterFiles, readClusterConfig } from './cluster-config.ts';

/**
 * A store for a local cluster, as its admin: the store API at the cluster's
 * address, trusted through the cluster's API CA, with the admin token from
 * the state directory. The control plane must be running.
 */
export function openClusterStore(dir: string): ApiStore {
  const config = readClusterConfig(dir);
  const files = clusterFiles(dir);
  if (!existsSync(files.adminToken) || !existsSync(files.apiCa)) {
    throw new StraitError('E_CLUSTER_STATE', `${dir} has no admin credential`, {
      hint: `bring the cluster up again: strait local up --cluster ${config.name}`,
    });
  }
  return createApiStore({
    server: apiUrl(config),
    ca: readFileSync(files.apiCa, 'utf8'),
    token: readFileSync(files.adminToken, 'utf8').trim(),
  });
}

/**
 * What a client needs to reach a local cluster's API: its URL, the API CA and
 * a token (the admin token unless one is given). Feed it to formatKubeconfig
 * to hand a ServiceAccount's credential to another cluster.
 */
export function apiCredential(dir: string, token?: string): ApiCredential {
  const config = readClusterConfig(dir);
  const files = clusterFiles(dir);
  return {
    clusterName: config.name,
    server: apiUrl(config),
    caPem: readFileSync(files.apiCa, 'utf8'),
    token: token ?? readFileSync(files.adminToken, 'utf8').trim(),
  };
}

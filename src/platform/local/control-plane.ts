import { readFileSync } from 'node:fs';
import { CONTROL_PLANE_NAMESPACE } from '../../core/api/names.ts';
import { Kinds } from '../../core/kinds.ts';
import { type ApiServer, startApiServer } from './api/server.ts';
import { ServiceAccountTokens } from './api/service-account-token.ts';
import { type ClusterConfig, clusterFiles, readClusterConfig } from './cluster-config.ts';
import { startEndpointsController } from './controllers/endpoints-controller.ts';
import { startWorkloadReaper } from './controllers/workload-reaper.ts';
import { type LocalStore, openLocalStore } from './store/index.ts';
import { typeMeta } from './type-meta.ts';

export interface RunningControlPlane {
  config: ClusterConfig;
  store: LocalStore;
  api: ApiServer;
  close(): Promise<void>;
}

/** Namespaces every local cluster starts with. */
const BOOTSTRAP_NAMESPACES = ['default', CONTROL_PLANE_NAMESPACE];

/**
 * Runs a local cluster's control plane in this process: the durable store,
 * the store API, and the local controllers (Workload → Endpoints, the
 * workload reaper).
 */
export async function startControlPlane(options: {
  dir: string;
  log: (line: string) => void;
}): Promise<RunningControlPlane> {
  const { dir, log } = options;
  const config = readClusterConfig(dir);
  const files = clusterFiles(dir);
  const store = await openLocalStore({ dir: files.store });
  for (const name of BOOTSTRAP_NAMESPACES) {
    if (!(await store.get({ ...Kinds.Namespace, name }))) {
      await store.create({ ...typeMeta(Kinds.Namespace), metadata: { name } });
    }
  }
  const controller = new AbortController();
  const api = await startApiServer({
    store,
    host: config.controlPlaneAddress,
    port: config.ports.api,
    tls: { cert: readFileSync(files.apiCert, 'utf8'), key: readFileSync(files.apiKey, 'utf8') },
    adminToken: readFileSync(files.adminToken, 'utf8').trim(),
    tokens: new ServiceAccountTokens(readFileSync(files.tokenKey, 'utf8'), `strait://${config.name}`),
    log: (line) => log(`api: ${line}`),
  });
  log(`store API on https://${config.controlPlaneAddress}:${api.port}`);
  await startEndpointsController(store, {
    signal: controller.signal,
    log: (line) => log(`endpoints: ${line}`),
  });
  startWorkloadReaper(store, { signal: controller.signal, log: (line) => log(`reaper: ${line}`) });
  return {
    config,
    store,
    api,
    async close() {
      controller.abort();
      await api.close();
      await store.close();
    },
  };
}

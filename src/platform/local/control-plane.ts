import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startDestinationService } from '../../control-plane/destination/start.ts';
import { startIdentityService } from '../../control-plane/identity/index.ts';
import { startPolicyService } from '../../control-plane/policy/start.ts';
import { EventRecorder } from '../../control-plane/runtime/index.ts';
import { CONTROL_PLANE_NAMESPACE } from '../../core/api/names.ts';
import { describeError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import { type ApiServer, startApiServer } from './api/server.ts';
import { ServiceAccountTokens } from './api/service-account-token.ts';
import { apiBindAddress, type ClusterConfig, clusterFiles, readClusterConfig } from './cluster-config.ts';
import { ControlPlaneAccounts, servingTls } from './control-plane-identities.ts';
import { startEndpointsController } from './controllers/endpoints-controller.ts';
import { startWorkloadReaper } from './controllers/workload-reaper.ts';
import { startFailoverOperator } from './failover-operator.ts';
import type { KubernetesTargets } from './multicluster/remote-store.ts';
import { startMulticlusterComponents } from './multicluster-components.ts';
import { type LocalStore, openLocalStore } from './store/index.ts';
import { typeMeta } from './type-meta.ts';
import { WorkloadTokenValidator } from './workload-token.ts';

export interface RunningControlPlane {
  config: ClusterConfig;
  store: LocalStore;
  api: ApiServer;
  close(): Promise<void>;
}

/** Serving certificates of the control-plane services live 24 h; they are renewed at half that. */
const SERVING_RENEWAL_MS = 12 * 3600 * 1000;

/** Namespaces every local cluster starts with. */
const BOOTSTRAP_NAMESPACES = ['default', CONTROL_PLANE_NAMESPACE];

/**
 * Runs a local cluster's control plane in this process: the durable store,
 * the store API, the identity, destination and policy services, the local
 * controllers (Workload → Endpoints, the workload reaper) and the failover operator.
 */
export async function startControlPlane(options: {
  dir: string;
  log: (line: string) => void;
  /** Lets the service mirror follow Links to Kubernetes clusters. */
  kubernetesTargets?: KubernetesTargets;
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
    host: apiBindAddress(config),
    port: config.ports.api,
    tls: { cert: readFileSync(files.apiCert, 'utf8'), key: readFileSync(files.apiKey, 'utf8') },
    adminToken: readFileSync(files.adminToken, 'utf8').trim(),
    tokens: new ServiceAccountTokens(readFileSync(files.tokenKey, 'utf8'), `strait://${config.name}`),
    log: (line) => log(`api: ${line}`),
  });
  log(`store API on https://${config.controlPlaneAddress}:${api.port}`);
  const issuer = {
    certPem: readFileSync(files.issuerCert, 'utf8'),
    keyPem: readFileSync(files.issuerKey, 'utf8'),
    certSource: files.issuerCert,
    keySource: files.issuerKey,
  };
  const trustBundle = readFileSync(files.trustAnchor, 'utf8');
  const identity = await startIdentityService({
    issuer,
    trustBundle,
    validator: new WorkloadTokenValidator({
      publicKeys: [createPublicKey(readFileSync(files.workloadTokenKey, 'utf8'))],
    }),
    host: config.controlPlaneAddress,
    port: config.ports.identity,
    trustDomain: config.trustDomain,
    controlPlaneNamespace: config.controlPlaneNamespace,
    onEvent: (event) => {
      if (event.type === 'refused') log(`identity: refused ${event.identity}: ${event.message}`);
    },
  });
  log(`identity service on ${config.controlPlaneAddress}:${identity.port}`);
  const tlsFor = (account: string) => servingTls(config, account, issuer, trustBundle);
  const common = {
    store,
    host: config.controlPlaneAddress,
    trustDomain: config.trustDomain,
    controlPlaneNamespace: config.controlPlaneNamespace,
  };
  const destination = await startDestinationService({
    ...common,
    tls: tlsFor(ControlPlaneAccounts.destination),
    port: config.ports.destination,
    clusterDomain: config.clusterDomain,
    onError: (error) => log(`destination: ${describeError(error)}`),
  });
  log(`destination service on ${config.controlPlaneAddress}:${destination.port}`);
  const policy = await startPolicyService({
    ...common,
    tls: tlsFor(ControlPlaneAccounts.policy),
    port: config.ports.policy,
    onError: (error) => log(`policy: ${describeError(error)}`),
  });
  log(`policy service on ${config.controlPlaneAddress}:${policy.port}`);
  const renewal = setInterval(() => {
    destination.rpc.setTls(tlsFor(ControlPlaneAccounts.destination));
    policy.rpc.setTls(tlsFor(ControlPlaneAccounts.policy));
  }, SERVING_RENEWAL_MS);
  renewal.unref();
  const events = new EventRecorder(store, {
    component: 'strait-local-controllers',
    onError: (error) => log(`events: ${describeError(error)}`),
  });
  await startEndpointsController(store, {
    signal: controller.signal,
    log: (line) => log(`endpoints: ${line}`),
    events,
  });
  startWorkloadReaper(store, { signal: controller.signal, log: (line) => log(`reaper: ${line}`), events });
  const failover = await startFailoverOperator(store, { log: (line) => log(`failover: ${line}`) });
  const multicluster = await startMulticlusterComponents({
    dir,
    config,
    store,
    log,
    events,
    ...(options.kubernetesTargets ? { kubernetes: options.kubernetesTargets } : {}),
  });
  return {
    config,
    store,
    api,
    async close() {
      controller.abort();
      clearInterval(renewal);
      await failover.close();
      await multicluster.close();
      await Promise.all([api.close(), identity.close(), destination.close(), policy.close()]);
      await store.close();
    },
  };
}

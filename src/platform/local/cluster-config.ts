import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ports } from '../../core/api/names.ts';
import { StraitError } from '../../core/errors.ts';
import { writeFileAtomic } from './home.ts';

/** Port of a local cluster's store API, as a Kubernetes API server's. */
export const API_PORT = 6443;

/** What `cluster.json` in a cluster's state directory records. */
export interface ClusterConfig {
  name: string;
  /** N of the loopback block 127.N.0.0/16. */
  index: number;
  cidr: string;
  /** Where the control plane listens (127.N.0.1, or the namespace's address in netns mode). */
  controlPlaneAddress: string;
  /** `mirrorAdmin` (the service mirror's metrics) is absent in clusters made before it existed. */
  ports: { api: number; identity: number; destination: number; policy: number; mirrorAdmin?: number };
  trustDomain: string;
  clusterDomain: string;
  controlPlaneNamespace: string;
  /** Set when the cluster runs in its own network namespace. */
  netns?: string;
  /** In a network namespace: the cluster's address on its link to the host, where its API and gateway are reached. */
  externalAddress?: string;
  createdAt: string;
}

/** Files in a cluster's state directory. */
export function clusterFiles(dir: string) {
  const pki = join(dir, 'pki');
  return {
    config: join(dir, 'cluster.json'),
    store: join(dir, 'store'),
    pki,
    trustAnchor: join(pki, 'trust-anchor.crt'),
    issuerCert: join(pki, 'issuer.crt'),
    issuerKey: join(pki, 'issuer.key'),
    apiCa: join(pki, 'api-ca.crt'),
    apiCert: join(pki, 'api.crt'),
    apiKey: join(pki, 'api.key'),
    tokenKey: join(pki, 'service-account-token.key'),
    workloadTokenKey: join(pki, 'workload-token.key'),
    adminToken: join(dir, 'admin-token'),
    pid: join(dir, 'control-plane.pid'),
    log: join(dir, 'control-plane.log'),
    workloads: join(dir, 'workloads'),
    multicluster: join(dir, 'multicluster'),
  };
}

export function defaultPorts(): ClusterConfig['ports'] {
  return {
    api: API_PORT,
    identity: Ports.identity,
    destination: Ports.destination,
    policy: Ports.policy,
    mirrorAdmin: Ports.mirrorAdmin,
  };
}

export function readClusterConfig(dir: string): ClusterConfig {
  const file = clusterFiles(dir).config;
  if (!existsSync(file)) {
    throw new StraitError('E_CLUSTER_NOT_FOUND', `no local cluster in ${dir}`, {
      hint: 'create it with `strait local up --cluster NAME`',
    });
  }
  let config: ClusterConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as ClusterConfig;
  } catch (error) {
    throw new StraitError('E_CONFIG', `${file} is not valid JSON: ${(error as Error).message}`);
  }
  for (const field of ['name', 'controlPlaneAddress', 'trustDomain', 'clusterDomain'] as const) {
    if (typeof config[field] !== 'string' || config[field] === '') {
      throw new StraitError('E_CONFIG', `${file}: ${field} is missing`);
    }
  }
  if (typeof config.ports?.api !== 'number')
    throw new StraitError('E_CONFIG', `${file}: ports.api is missing`);
  return config;
}

export function writeClusterConfig(dir: string, config: ClusterConfig): void {
  writeFileAtomic(clusterFiles(dir).config, `${JSON.stringify(config, null, 2)}\n`);
}

/** The store API's URL of a cluster, as reached from the host and other clusters. */
export function apiUrl(config: ClusterConfig): string {
  return `https://${config.externalAddress ?? config.controlPlaneAddress}:${config.ports.api}`;
}

/**
 * The address the store API binds: in its own namespace every address, so
 * that the host and other clusters reach it on the link; else its own.
 */
export function apiBindAddress(config: ClusterConfig): string {
  return config.netns ? '0.0.0.0' : config.controlPlaneAddress;
}

/**
 * Where the cluster's multi-cluster parts are reached from the host and other
 * clusters: the namespace's link address, else the control-plane address.
 * The gateway binds it, and the service mirror serves its metrics on it.
 */
export function linkAddress(config: ClusterConfig): string {
  return config.externalAddress ?? config.controlPlaneAddress;
}

/** The service mirror's metrics address (`strait mc gateways` reads it). */
export function mirrorAdminAddress(config: ClusterConfig): { host: string; port: number } {
  return { host: linkAddress(config), port: config.ports.mirrorAdmin ?? Ports.mirrorAdmin };
}

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../fixtures/ports.ts';
import type { KubeBinaries } from './binaries.ts';
import { formatKubeconfig, type KubeconfigEntry } from './kubeconfig.ts';
import { type ClusterPki, createClusterPki } from './pki.ts';
import { type GroupProcess, startGroupProcess } from './processes.ts';

/** One running test cluster: etcd, kube-apiserver and kube-controller-manager. */
export interface TestCluster {
  name: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  dir: string;
  pki: ClusterPki;
  /** The kubeconfig entry (admin in system:masters) for this cluster. */
  entry: KubeconfigEntry;
  processes: GroupProcess[];
  /** Stops KCM, the API server and etcd, in that order. */
  stop(): Promise<void>;
  /**
   * Stops the API server and starts it again on the same port (etcd keeps the state); `whileDown`
   * runs between the two.
   */
  restartApiserver(whileDown?: () => Promise<void>): Promise<void>;
}

export interface ClusterOptions {
  name: string;
  /** Directory for certificates, etcd data and logs (best on tmpfs). */
  dir: string;
  binaries: KubeBinaries;
  /** The Service ClusterIP range, e.g. `10.96.0.0/16`; its first address is the `kubernetes` Service. */
  serviceCidr: string;
  /** How long each component may take to become ready (default 180 s: two clusters share two cores). */
  readyTimeoutMs?: number;
}

/** Controllers KCM runs: endpoints and slices, namespace deletion, GC and service accounts. */
export const CONTROLLERS = [
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'endpoints-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
];

/** Starts one cluster; on failure stops what it started and reports the failing component's log. */
export async function startCluster(options: ClusterOptions): Promise<TestCluster> {
  await mkdir(options.dir, { recursive: true });
  const serviceIp = firstAddress(options.serviceCidr);
  const pki = await createClusterPki(options.dir, options.name, serviceIp);
  const processes: GroupProcess[] = [];
  const stop = async () => {
    for (const child of processes.toReversed()) await child.stop();
  };
  const deadline = options.readyTimeoutMs ?? 180_000;
  try {
    const etcdUrl = await startEtcd(options, processes, deadline);
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    processes.push(await startApiserver(options, pki, etcdUrl, port, processes, deadline));
    const entry: KubeconfigEntry = {
      name: options.name,
      server,
      caPem: await readFile(pki.caCert, 'utf8'),
      clientCertPem: await readFile(pki.adminCert, 'utf8'),
      clientKeyPem: await readFile(pki.adminKey, 'utf8'),
    };
    const kubeconfig = join(options.dir, 'admin.kubeconfig');
    await writeFile(kubeconfig, formatKubeconfig([entry]));
    await startControllerManager(options, pki, kubeconfig, processes);
    await waitFor(
      `${options.name}: kube-controller-manager to create the default ServiceAccount`,
      deadline,
      processes,
      async () =>
        (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, entry)).status === 200,
    );
    const restartApiserver = async (whileDown?: () => Promise<void>) => {
      const index = processes.findIndex((child) => child.name.endsWith('/kube-apiserver'));
      const [previous] = processes.splice(index, 1);
      await previous?.stop();
      try {
        await whileDown?.();
      } finally {
        processes.splice(index, 0, await startApiserver(options, pki, etcdUrl, port, processes, deadline));
      }
    };
    return { name: options.name, server, dir: options.dir, pki, entry, processes, stop, restartApiserver };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startEtcd(
  options: ClusterOptions,
  processes: GroupProcess[],
  deadline: number,
): Promise<string> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const etcd = startGroupProcess(
    `${options.name}/etcd`,
    options.binaries.etcd,
    [
      `--name=${options.name}`,
      `--data-dir=${join(options.dir, 'etcd')}`,
      '--unsafe-no-fsync=true',
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${options.name}=${peerUrl}`,
      '--log-level=warn',
      // Lets the API server's watch cache advance without writes, so bookmarks flow (etcd's default is 10 min).
      '--experimental-watch-progress-notify-interval=5s',
    ],
    { logFile: join(options.dir, 'etcd.log') },
  );
  processes.push(etcd);
  await waitFor(`${options.name}: etcd to report healthy`, deadline, processes, async () => {
    const response = await get(`${url}/health`);
    return response.status === 200 && response.body.includes('"true"');
  });
  return url;
}

async function startApiserver(
  options: ClusterOptions,
  pki: ClusterPki,
  etcdUrl: string,
  port: number,
  processes: GroupProcess[],
  deadline: number,
): Promise<GroupProcess> {
  const server = `https://127.0.0.1:${port}`;
  const apiserver = startGroupProcess(
    `${options.name}/kube-apiserver`,
    options.binaries.kubeApiserver,
    [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--endpoint-reconciler-type=none',
      `--cert-dir=${join(options.dir, 'apiserver')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-cluster-ip-range=${options.serviceCidr}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
    ],
    { logFile: join(options.dir, 'kube-apiserver.log') },
  );
  const ca = await readFile(pki.caCert, 'utf8');
  try {
    await waitFor(
      `${options.name}: kube-apiserver /readyz`,
      deadline,
      [...processes, apiserver],
      async () => {
        const response = await get(`${server}/readyz`, { caPem: ca });
        return response.status === 200;
      },
    );
  } catch (error) {
    await apiserver.stop();
    throw error;
  }
  return apiserver;
}

async function startControllerManager(
  options: ClusterOptions,
  pki: ClusterPki,
  kubeconfig: string,
  processes: GroupProcess[],
): Promise<void> {
  const kcm = startGroupProcess(
    `${options.name}/kube-controller-manager`,
    options.binaries.kubeControllerManager,
    [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-name=${options.name}`,
      '--use-service-account-credentials=false',
    ],
    { logFile: join(options.dir, 'kube-controller-manager.log') },
  );
  processes.push(kcm);
}

/** Polls `ready` until it holds; fails early, with the log tail, when a component exits. */
async function waitFor(
  what: string,
  timeoutMs: number,
  processes: GroupProcess[],
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exited = processes.find((child) => child.done);
    if (exited) throw new Error(`${exited.name} exited while waiting for ${what}:\n${exited.tail()}`);
    try {
      if (await ready()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  const last = processes.at(-1);
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}` +
      (lastError ? ` (last error: ${(lastError as Error).message})` : '') +
      (last ? `\n${last.name} log:\n${last.tail()}` : ''),
  );
}

/** A GET with optional TLS trust and client certificate; resolves with status and body text. */
function get(
  url: string,
  tls?: { caPem: string; clientCertPem?: string; clientKeyPem?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = tls ? { ca: tls.caPem, cert: tls.clientCertPem, key: tls.clientKeyPem } : {};
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { ...options, timeout: 5_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The first usable address of an IPv4 CIDR: `10.96.0.0/16` → `10.96.0.1`. */
function firstAddress(cidr: string): string {
  const [base] = cidr.split('/');
  const octets = (base as string).split('.').map(Number);
  octets[3] = (octets[3] as number) + 1;
  return octets.join('.');
}

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Workload, WorkloadStatus } from '../../../core/api/local.ts';
import { Ports } from '../../../core/api/names.ts';
import { StraitError, UsageError } from '../../../core/errors.ts';
import { identityName } from '../../../core/identity-name.ts';
import { Kinds } from '../../../core/kinds.ts';
import { refOf } from '../../../core/resource.ts';
import { AlreadyExistsError, type ResourceStore } from '../../../core/store.ts';
import { issueWorkloadCertificate } from '../../../pki/index.ts';
import { dataPlaneEntry, dataPlaneEntryFiles, PROXY_NODE_ARGS } from '../../../proxy/launch.ts';
import { inBlock } from '../addresses.ts';
import { type ClusterConfig, clusterFiles } from '../cluster-config.ts';
import { ControlPlaneAccounts, controlPlaneIdentity } from '../control-plane-identities.ts';
import { SUPERVISOR_PID_ANNOTATION } from '../controllers/workload-reaper.ts';
import { writeFileAtomic } from '../home.ts';
import { typeMeta } from '../type-meta.ts';
import { WorkloadTokenIssuer } from '../workload-token.ts';
import { allocateWorkloadAddress, withAllocationLock } from './address-allocation.ts';
import { httpReady, tcpReady } from './readiness.ts';

const PROXY_ENTRY = dataPlaneEntryFiles('proxy').source;

export interface RunWorkloadOptions {
  dir: string;
  config: ClusterConfig;
  /** The cluster's store (as admin). */
  store: ResourceStore;
  namespace: string;
  serviceAccount: string;
  name: string;
  /** The application's ports; the first is checked for readiness. */
  ports: { name?: string; port: number }[];
  readyPath?: string;
  /**
   * A fixed address instead of the next free one of the block: for a
   * workload other clusters must reach, such as a gateway on the cluster's
   * link address (`config.externalAddress`) in a network namespace.
   */
  address?: string;
  labels?: Record<string, string>;
  command: string[];
  /** Run the application without a proxy (not meshed). */
  proxy: boolean;
  /**
   * Give the application its own workload certificate (STRAIT_CERT_FILE,
   * STRAIT_KEY_FILE): for workloads that speak mTLS themselves, such as a gateway.
   */
  identityFiles?: boolean;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Period of readiness checks. */
  probePeriodMs?: number;
  /** How long `stop()` keeps the application running after taking it out of its Endpoints. */
  drainMs?: number;
}

export interface RunningWorkload {
  workload: Workload;
  address: string;
  /** Resolves with the application's exit code once it has exited and the workload is unregistered. */
  exited: Promise<number>;
  /**
   * Stops the application: marks the workload not ready, so its address leaves the Endpoints
   * and callers' proxies stop choosing it, then after `drainMs` sends it SIGTERM; `exited`
   * resolves when done.
   */
  stop(): void;
}

/**
 * Runs an application as a workload of a local cluster, as a kubelet would:
 * gives it an address of the cluster's block, starts its proxy with a
 * workload token (the proxy makes its own key and gets its certificate from
 * the cluster's identity service), registers a Workload, marks
 * it ready only while both the proxy and the application's readiness check
 * pass, and unregisters it when the application exits.
 */
export async function runWorkload(options: RunWorkloadOptions): Promise<RunningWorkload> {
  const { store, namespace, name, config } = options;
  if (options.command.length === 0) throw new StraitError('E_USAGE', 'give the command to run after --');
  if (options.proxy && !existsSync(PROXY_ENTRY)) {
    throw new StraitError('E_PROXY_MISSING', `the proxy entry point ${PROXY_ENTRY} is missing`, {
      hint: 'run with --no-proxy for a workload outside the mesh',
    });
  }
  const identity = identityName({
    serviceAccount: options.serviceAccount,
    namespace,
    controlPlaneNamespace: config.controlPlaneNamespace,
    trustDomain: config.trustDomain,
  });
  await ensureNamespaceAndAccount(store, namespace, options.serviceAccount);
  const proxyPorts = {
    inboundPort: Ports.proxyInbound,
    outboundPort: Ports.proxyOutbound,
    adminPort: Ports.proxyAdmin,
  };
  if (options.address !== undefined) checkFixedAddress(options.address, config);
  const ports = [
    ...options.ports.map((p) => p.port),
    ...(options.proxy
      ? [proxyPorts.inboundPort, proxyPorts.outboundPort, proxyPorts.adminPort, Ports.proxyTap]
      : []),
  ];
  const workloadDir = join(clusterFiles(options.dir).workloads, `${namespace}.${name}`);
  mkdirSync(workloadDir, { recursive: true });

  // Choosing a free address and registering it happen under the cluster's allocation lock, so
  // workloads started at the same moment see each other's address.
  let workload = await withAllocationLock(clusterFiles(options.dir).workloads, async () =>
    register(store, {
      ...typeMeta(Kinds.Workload),
      metadata: {
        name,
        namespace,
        labels: { app: name, ...options.labels },
        annotations: { [SUPERVISOR_PID_ANNOTATION]: String(process.pid) },
      },
      spec: {
        serviceAccountName: options.serviceAccount,
        command: options.command,
        ports: options.ports,
        address: options.address ?? (await allocateWorkloadAddress(store, config.index, ports)),
        ...(options.readyPath ? { readinessPath: options.readyPath } : {}),
        ...(options.proxy ? { proxy: proxyPorts } : {}),
      },
    }),
  );
  const address = workload.spec?.address as string;

  let proxy: ChildProcess | undefined;
  let app: ChildProcess;
  let tokenRefresh: NodeJS.Timeout | undefined;
  try {
    if (options.proxy) {
      tokenRefresh = keepTokenFresh(options, identity, join(workloadDir, 'proxy.token'));
      proxy = startProxy(options, identity, address, workloadDir);
      await awaitProxy(proxy, address, proxyPorts.adminPort, options.log);
    }
    app = spawn(options.command[0] as string, options.command.slice(1), {
      stdio: 'inherit',
      env: {
        ...options.env,
        HOST: address,
        PORT: String(options.ports[0]?.port ?? ''),
        STRAIT_WORKLOAD_NAME: name,
        STRAIT_WORKLOAD_NAMESPACE: namespace,
        STRAIT_WORKLOAD_ADDRESS: address,
        STRAIT_IDENTITY: identity,
        ...controlPlaneEnvironment(options.dir, config),
        ...(options.identityFiles ? writeIdentityFiles(options.dir, identity, join(workloadDir, 'app')) : {}),
        ...(options.proxy
          ? {
              HTTP_PROXY: `http://${address}:${proxyPorts.outboundPort}`,
              http_proxy: `http://${address}:${proxyPorts.outboundPort}`,
              NO_PROXY: '',
              NODE_USE_ENV_PROXY: '1',
              STRAIT_PROXY_OUTBOUND: `${address}:${proxyPorts.outboundPort}`,
            }
          : {}),
      },
    });
  } catch (error) {
    clearInterval(tokenRefresh);
    proxy?.kill('SIGTERM');
    await store.delete(refOf(workload)).catch(() => false);
    throw error;
  }

  // Listen before anything else awaits: a short-lived command may exit at once.
  const appExit = new Promise<number>((resolve) => {
    app.once('error', (error) => {
      options.log(`cannot start ${options.command[0]}: ${error.message}`);
      resolve(127);
    });
    app.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
  let appExited = false;
  let probe: NodeJS.Timeout | undefined;
  const exited = appExit.then(async (code) => {
    appExited = true;
    clearInterval(probe);
    clearInterval(tokenRefresh);
    proxy?.kill('SIGTERM');
    try {
      await store.delete(refOf(workload));
    } catch (error) {
      options.log(`unregistering ${namespace}/${name}: ${(error as Error).message}`);
    }
    return code;
  });

  const status: WorkloadStatus = {
    phase: 'Running',
    address,
    ready: false,
    proxyReady: !options.proxy,
    appReady: false,
    ...(app.pid ? { pid: app.pid } : {}),
    ...(proxy?.pid ? { proxyPid: proxy.pid } : {}),
    startedAt: new Date().toISOString(),
  };
  const writeStatus = async () => {
    if (appExited) return;
    const current = { ...workload, metadata: { ...workload.metadata } };
    delete current.metadata.resourceVersion;
    try {
      workload = await store.updateStatus({ ...current, status: { ...status } });
    } catch (error) {
      if (!appExited) throw error;
    }
  };
  await writeStatus();

  let draining = false;
  const checkReadiness = async () => {
    const first = options.ports[0]?.port;
    const appReady =
      first === undefined
        ? true
        : options.readyPath
          ? await httpReady(address, first, options.readyPath)
          : await tcpReady(address, first);
    const proxyReady = proxy ? await httpReady(address, proxyPorts.adminPort, '/ready') : true;
    const ready = appReady && proxyReady;
    if (draining) return;
    if (ready !== status.ready || appReady !== status.appReady || proxyReady !== status.proxyReady) {
      Object.assign(status, { ready, appReady, proxyReady });
      await writeStatus();
    }
  };
  let checking = false;
  if (!appExited)
    probe = setInterval(() => {
      if (checking) return;
      checking = true;
      checkReadiness()
        .catch((error: unknown) =>
          options.log(`readiness of ${namespace}/${name}: ${(error as Error).message}`),
        )
        .finally(() => {
          checking = false;
        });
    }, options.probePeriodMs ?? 500);

  return {
    workload,
    address,
    exited,
    stop() {
      if (draining) return;
      draining = true;
      clearInterval(probe);
      status.ready = false;
      const terminate = () => setTimeout(() => app.kill('SIGTERM'), options.drainMs ?? DRAIN_MS);
      writeStatus().then(terminate, (error: unknown) => {
        options.log(`marking ${namespace}/${name} not ready: ${(error as Error).message}`);
        app.kill('SIGTERM');
      });
    },
  };
}

function checkFixedAddress(address: string, config: ClusterConfig): void {
  if (address === config.externalAddress || inBlock(config.index, address)) return;
  throw new UsageError(
    `--address ${address} is not an address of cluster ${config.name}`,
    `use an address of ${config.cidr}${config.externalAddress ? ` or ${config.externalAddress}` : ''}`,
  );
}

/** Time for a not-ready address to reach every caller's proxy before the application stops. */
const DRAIN_MS = 1000;

/** How long the application waits for its proxy before starting anyway. */
const PROXY_AWAIT_MS = 30_000;

/** Waits until the proxy answers /ready, so the application's first calls find it (Linkerd's proxy-await). */
async function awaitProxy(
  proxy: ChildProcess,
  address: string,
  adminPort: number,
  log: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + PROXY_AWAIT_MS;
  while (Date.now() < deadline) {
    if (proxy.exitCode !== null) {
      throw new StraitError(
        'E_PROXY_EXITED',
        `the proxy exited with code ${proxy.exitCode} before it was ready`,
        {
          hint: 'see proxy.log in the workload directory of the cluster',
        },
      );
    }
    if (await httpReady(address, adminPort, '/ready', 500)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  log(`the proxy is not ready after ${PROXY_AWAIT_MS / 1000}s; starting the application anyway`);
}

/** Where the cluster's control plane is, for applications that talk to it (gateways, controllers). */
function controlPlaneEnvironment(dir: string, config: ClusterConfig): Record<string, string> {
  const cp = config.controlPlaneAddress;
  return {
    STRAIT_CLUSTER: config.name,
    STRAIT_CLUSTER_DIR: dir,
    STRAIT_CLUSTER_DOMAIN: config.clusterDomain,
    STRAIT_TRUST_DOMAIN: config.trustDomain,
    STRAIT_TRUST_BUNDLE_FILE: clusterFiles(dir).trustAnchor,
    STRAIT_DESTINATION_ADDR: `${cp}:${config.ports.destination}`,
    STRAIT_DESTINATION_IDENTITY: controlPlaneIdentity(config, ControlPlaneAccounts.destination),
    STRAIT_POLICY_ADDR: `${cp}:${config.ports.policy}`,
    STRAIT_POLICY_IDENTITY: controlPlaneIdentity(config, ControlPlaneAccounts.policy),
    STRAIT_IDENTITY_ADDR: `${cp}:${config.ports.identity}`,
    STRAIT_IDENTITY_SERVER_NAME: controlPlaneIdentity(config, ControlPlaneAccounts.identity),
  };
}

/** Issues a workload certificate from the cluster's issuer into `prefix`.crt/.key (the key private). */
function writeIdentityFiles(dir: string, identity: string, prefix: string): Record<string, string> {
  const files = clusterFiles(dir);
  const issued = issueWorkloadCertificate({
    issuer: {
      certPem: readFileSync(files.issuerCert, 'utf8'),
      keyPem: readFileSync(files.issuerKey, 'utf8'),
      certSource: files.issuerCert,
      keySource: files.issuerKey,
    },
    identity,
  });
  writeFileAtomic(`${prefix}.crt`, issued.chainPem);
  writeFileAtomic(`${prefix}.key`, issued.keyPem, 0o600);
  return { STRAIT_CERT_FILE: `${prefix}.crt`, STRAIT_KEY_FILE: `${prefix}.key` };
}

/** Lifetime of a proxy's workload token; it is rewritten well before it expires. */
const TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
const TOKEN_REWRITE_MS = 60 * 60 * 1000;

/**
 * Writes a workload token for `identity` to `path` (readable only by us) and
 * rewrites it every hour, as a kubelet refreshes a projected token; the proxy
 * reads the file before every certificate request.
 */
function keepTokenFresh(options: RunWorkloadOptions, identity: string, path: string): NodeJS.Timeout {
  const tokens = new WorkloadTokenIssuer(readFileSync(clusterFiles(options.dir).workloadTokenKey, 'utf8'));
  const write = () =>
    writeFileAtomic(
      path,
      tokens.issue({ identity, namespace: options.namespace, workload: options.name, ttlMs: TOKEN_TTL_MS }),
      0o600,
    );
  write();
  const timer = setInterval(() => {
    try {
      write();
    } catch (error) {
      options.log(
        `refreshing the workload token of ${options.namespace}/${options.name}: ${(error as Error).message}`,
      );
    }
  }, TOKEN_REWRITE_MS);
  timer.unref();
  return timer;
}

async function register(store: ResourceStore, workload: Workload): Promise<Workload> {
  try {
    return await store.create(workload);
  } catch (error) {
    if (error instanceof AlreadyExistsError) {
      const { name, namespace } = workload.metadata;
      throw new StraitError('E_WORKLOAD_EXISTS', `workload ${namespace}/${name} is already registered`, {
        hint: `pick another --name, or stop it: strait local delete workload ${name} -n ${namespace}`,
      });
    }
    throw error;
  }
}

/** Whether another Workload registered before this one holds the same address. */
async function ensureNamespaceAndAccount(
  store: ResourceStore,
  namespace: string,
  account: string,
): Promise<void> {
  const create = async (object: Parameters<ResourceStore['create']>[0]) => {
    try {
      await store.create(object);
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  };
  if (!(await store.get({ ...Kinds.Namespace, name: namespace }))) {
    await create({ ...typeMeta(Kinds.Namespace), metadata: { name: namespace } });
  }
  if (!(await store.get({ ...Kinds.ServiceAccount, namespace, name: account }))) {
    await create({ ...typeMeta(Kinds.ServiceAccount), metadata: { name: account, namespace } });
  }
}

function startProxy(
  options: RunWorkloadOptions,
  identity: string,
  address: string,
  workloadDir: string,
): ChildProcess {
  const files = clusterFiles(options.dir);
  const first = options.ports[0]?.port;
  const cp = options.config.controlPlaneAddress;
  const logFd = openSync(join(workloadDir, 'proxy.log'), 'a');
  // The compiled build when up to date (16 MB less RSS), with a small young generation.
  const child = spawn(process.execPath, [...PROXY_NODE_ARGS, dataPlaneEntry('proxy')], {
    stdio: ['ignore', logFd, logFd],
    env: {
      ...options.env,
      STRAIT_PROXY_INBOUND_ADDR: `${address}:${Ports.proxyInbound}`,
      STRAIT_PROXY_OUTBOUND_ADDR: `${address}:${Ports.proxyOutbound}`,
      STRAIT_PROXY_ADMIN_ADDR: `${address}:${Ports.proxyAdmin}`,
      STRAIT_PROXY_TAP_ADDR: `${address}:${Ports.proxyTap}`,
      STRAIT_PROXY_APP_HOST: address,
      ...(first !== undefined ? { STRAIT_PROXY_APP_PORT: String(first) } : {}),
      STRAIT_PROXY_IDENTITY_ADDR: `${cp}:${options.config.ports.identity}`,
      STRAIT_PROXY_IDENTITY_SERVER_NAME: controlPlaneIdentity(options.config, ControlPlaneAccounts.identity),
      STRAIT_PROXY_IDENTITY: identity,
      STRAIT_PROXY_TOKEN_FILE: join(workloadDir, 'proxy.token'),
      STRAIT_PROXY_TRUST_BUNDLE_FILE: files.trustAnchor,
      STRAIT_PROXY_DESTINATION_ADDR: `${cp}:${options.config.ports.destination}`,
      STRAIT_PROXY_DESTINATION_IDENTITY: controlPlaneIdentity(
        options.config,
        ControlPlaneAccounts.destination,
      ),
      STRAIT_PROXY_POLICY_ADDR: `${cp}:${options.config.ports.policy}`,
      STRAIT_PROXY_POLICY_IDENTITY: controlPlaneIdentity(options.config, ControlPlaneAccounts.policy),
      STRAIT_PROXY_WORKLOAD: `${options.namespace}/${options.name}`,
    },
  });
  closeSync(logFd);
  return child;
}

import http from 'node:http';
import { MULTICLUSTER_NAMESPACE } from '../../../core/api/names.ts';
import { StraitError } from '../../../core/errors.ts';
import type { ResourceStore } from '../../../core/store.ts';
import { LinkManager } from '../../../multicluster/service-mirror/link-manager.ts';
import { MirrorMetrics } from '../../../multicluster/service-mirror/metrics.ts';
import type { IdentityMaterial } from '../../../proxy/transport/credentials.ts';
import type { KubernetesTargets } from './remote-store.ts';
import { linkRemoteStores } from './remote-store.ts';

/** The service mirror inside a local control plane. */
export interface LocalServiceMirror {
  /** The port its metrics are served on (what `strait mc gateways` reads). */
  adminPort: number;
  close(): Promise<void>;
}

/**
 * Runs the link manager on the cluster's own store (one mirror controller and
 * one gateway probe per Link in strait-multicluster) and serves its metrics
 * at `http://<admin>/metrics` (also `/ready` and `/live`).
 */
export async function startLocalServiceMirror(options: {
  store: ResourceStore;
  admin: { host: string; port: number };
  log: (line: string) => void;
  kubernetes?: KubernetesTargets;
  repairPeriodMs?: number;
  /** The cluster's identity for mTLS gateway probes (see issuedProbeIdentity). */
  probeIdentity?: () => IdentityMaterial;
}): Promise<LocalServiceMirror> {
  const { store, log } = options;
  const metrics = new MirrorMetrics();
  const manager = new LinkManager({
    local: store,
    namespace: MULTICLUSTER_NAMESPACE,
    remoteStore: linkRemoteStores({
      local: store,
      log,
      ...(options.kubernetes ? { kubernetes: options.kubernetes } : {}),
    }),
    metrics,
    ...(options.probeIdentity ? { probeIdentity: options.probeIdentity } : {}),
    controller: { repairPeriodMs: options.repairPeriodMs ?? 60_000 },
    log,
  });
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const body =
      path === '/metrics'
        ? metrics.render()
        : path === '/ready'
          ? 'ready\n'
          : path === '/live'
            ? 'live\n'
            : '';
    response.writeHead(body ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(body || 'not found\n');
  });
  const where = `${options.admin.host}:${options.admin.port}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new StraitError(
          'E_MIRROR_ADMIN',
          `the service mirror cannot serve its metrics on ${where}: ${error.message}`,
          {
            hint: 'another process holds the port: stop it, or set ports.mirrorAdmin in the cluster’s cluster.json',
          },
        ),
      ),
    );
    server.listen(options.admin.port, options.admin.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  manager.start();
  const { port } = server.address() as { port: number };
  log(`mirroring Links in ${MULTICLUSTER_NAMESPACE}; metrics on ${options.admin.host}:${port}`);
  return {
    adminPort: port,
    async close() {
      server.closeAllConnections();
      await Promise.all([manager.stop(), new Promise((resolve) => server.close(resolve))]);
    },
  };
}

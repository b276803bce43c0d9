// Controls a local cluster's gateway the supported way (its ConfigMap) and
// reads its state, for tests that stop and start it.
import type { Workload } from '../../../src/core/api/local.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { openClusterStore } from '../../../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { straitOk } from '../../fixtures/strait-cli.ts';

/** The Workload the control plane records for its gateway; undefined when none runs or waits to. */
export async function gatewayWorkload(home: string, cluster: string): Promise<Workload | undefined> {
  const store = openClusterStore(clusterDirectory(home, cluster));
  try {
    return await store.get<Workload>({
      ...Kinds.Workload,
      namespace: 'strait-multicluster',
      name: 'strait-gateway',
    });
  } finally {
    store.close();
  }
}

/** Waits until the gateway is ready, not as `previousPid`; resolves its pid. */
export function gatewayReady(home: string, cluster: string, previousPid?: number): Promise<number> {
  return eventually(
    `the gateway of ${cluster} ready`,
    async () => {
      const status = (await gatewayWorkload(home, cluster))?.status;
      const pid = status?.proxyPid;
      return status?.ready && pid && pid !== previousPid ? pid : undefined;
    },
    90_000,
  );
}

/**
 * Applies `replicas` to the gateway's ConfigMap with `strait local apply`
 * and waits until the gateway is ready (1) or gone (0). Resolves the pid of
 * the running gateway, or undefined.
 */
export async function setGatewayReplicas(
  home: string,
  cluster: string,
  replicas: 0 | 1,
): Promise<number | undefined> {
  await straitOk(
    home,
    ['local', 'apply', '--context', cluster, '-f', '-'],
    `apiVersion: v1
kind: ConfigMap
metadata:
  name: strait-gateway
  namespace: strait-multicluster
data:
  replicas: "${replicas}"
`,
  );
  if (replicas === 1) return gatewayReady(home, cluster);
  await eventually(
    `the gateway of ${cluster} stopped`,
    async () => ((await gatewayWorkload(home, cluster)) ? undefined : true),
    60_000,
  );
  return undefined;
}

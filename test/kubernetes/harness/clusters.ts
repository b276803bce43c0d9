import { randomInt } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import { KubernetesStore } from '../../../src/platform/kubernetes/store.ts';
import { kubeBinaries } from './binaries.ts';
import { startCluster, type TestCluster } from './cluster.ts';
import { formatKubeconfig } from './kubeconfig.ts';
import { HarnessNode } from './node.ts';
import { processRuntime, wantsNetworkNamespace } from './process-runtime.ts';
import { claimStateDir, reapStaleClusters } from './stale.ts';

/** The two test clusters and one kubeconfig with contexts `west` and `east`. */
export interface TestClusters {
  west: TestCluster;
  east: TestCluster;
  /** Path of the kubeconfig holding both contexts (current: west). */
  kubeconfig: string;
  /**
   * First three octets of each cluster's pod addresses: 198.18.<n> for west
   * and 198.19.<n> for east (the RFC 2544 test range), with <n> random per
   * run so parallel runs on one machine do not share addresses.
   */
  podNetworks: { west: string; east: string };
  /**
   * Per cluster, where a Service answers for the pods its node runs, by the
   * `host:port` cluster DNS gives it (there is no DNS or kube-proxy): a suite
   * that runs a component outside the cluster registers its address here.
   */
  serviceAddresses: { west: Map<string, string>; east: Map<string, string> };
  /** A transport to the named cluster, as the admin. */
  client(name: 'west' | 'east'): KubeClient;
  /**
   * The cluster's one node (`west-node`, `east-node`), started on first use:
   * it runs the pods' container commands as local processes on pod addresses.
   */
  node(name: 'west' | 'east'): Promise<HarnessNode>;
  /** Stops the nodes and both clusters, and removes their files. */
  stop(): Promise<void>;
}

/** Service ClusterIP ranges: distinct, so an address names its cluster. */
const SERVICE_CIDRS = { west: '10.96.0.0/16', east: '10.97.0.0/16' } as const;

/**
 * Builds or finds the binaries, then starts `west` and `east` side by side
 * on loopback ports with their state on tmpfs.
 */
export async function startTestClusters(): Promise<TestClusters> {
  const binaries = await kubeBinaries();
  const parent = process.env.STRAIT_KUBE_STATE ?? '/dev/shm';
  reapStaleClusters(parent, 'strait-kube-');
  const root = await mkdtemp(join(parent, 'strait-kube-'));
  claimStateDir(root);
  // A pod's containers may run as another user (runAsUser) and read their volumes below.
  await chmod(root, 0o711);
  const started: TestCluster[] = [];
  const nodes = new Map<string, Promise<HarnessNode>>();
  const stop = async () => {
    const running = await Promise.allSettled(nodes.values());
    nodes.clear();
    for (const node of running) if (node.status === 'fulfilled') await node.value.stop();
    await Promise.all(started.map((cluster) => cluster.stop()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    const results = await Promise.allSettled(
      (['west', 'east'] as const).map((name) =>
        startCluster({ name, dir: join(root, name), binaries, serviceCidr: SERVICE_CIDRS[name] }),
      ),
    );
    for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [west, east] = started;
    const kubeconfig = join(root, 'kubeconfig');
    await writeFile(kubeconfig, formatKubeconfig([(west as TestCluster).entry, (east as TestCluster).entry]));
    const run = randomInt(0, 256);
    const podNetworks = { west: `198.18.${run}`, east: `198.19.${run}` };
    const client = (name: 'west' | 'east') => {
      const config = new KubeConfig();
      config.loadFromFile(kubeconfig);
      config.setCurrentContext(name);
      return new KubeClient(config);
    };
    const clusters = { west: west as TestCluster, east: east as TestCluster };
    const serviceAddresses = { west: new Map<string, string>(), east: new Map<string, string>() };
    const node = (name: 'west' | 'east') => {
      let pending = nodes.get(name);
      if (!pending) {
        const harnessNode = new HarnessNode({
          store: new KubernetesStore(client(name), { extraKinds: [KubernetesKinds.Node] }),
          client: client(name),
          name: `${name}-node`,
          podNetwork: podNetworks[name],
          runtime: processRuntime({
            dir: join(clusters[name].dir, 'pods'),
            client: client(name),
            services: serviceAddresses[name],
            networkNamespaces: { selects: wantsNetworkNamespace },
          }),
        });
        pending = harnessNode.start().then(() => harnessNode);
        nodes.set(name, pending);
      }
      return pending;
    };
    return { ...clusters, podNetworks, serviceAddresses, kubeconfig, client, node, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

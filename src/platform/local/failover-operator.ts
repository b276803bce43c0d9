import type { ResourceStore } from '../../core/store.ts';
import {
  FAILOVER_OPERATOR_NAME,
  FailoverController,
  ProxyTargets,
  ScrapingHealthSource,
} from '../../multicluster/failover/index.ts';

/** The failover operator as run by a local cluster's control plane. */
export interface LocalFailoverOperator {
  close(): Promise<void>;
}

/**
 * Starts the failover operator inside a local cluster's control plane: it
 * manages the TrafficSplits labelled `failover.strait.io/controlled-by:
 * strait-failover` (or Linkerd's `linkerd-failover`), with health from the
 * proxies of every meshed workload of the cluster. A split labelled with
 * another value is left to an operator started with that `--name`.
 */
export async function startFailoverOperator(
  store: ResourceStore,
  options: { log: (line: string) => void },
): Promise<LocalFailoverOperator> {
  const { log } = options;
  const lastErrors = new Map<string, string>();
  const health = new ScrapingHealthSource({
    targets: [],
    // A stopped workload's proxy fails every scrape until it leaves the list: say so once.
    onError: (target, message) => {
      if (lastErrors.get(target) === message) return;
      lastErrors.set(target, message);
      log(`scraping ${target}: ${message}`);
    },
  });
  const proxies = new ProxyTargets(
    store,
    'local',
    (urls) => {
      health.setTargets(urls);
      for (const target of lastErrors.keys()) if (!health.targets.includes(target)) lastErrors.delete(target);
    },
    log,
  );
  const controller = new FailoverController({ store, health, log, name: FAILOVER_OPERATOR_NAME });
  proxies.start();
  health.start();
  await controller.start();
  return {
    async close() {
      health.close();
      await proxies.stop();
      await controller.stop();
    },
  };
}

// The failover operator process: `node src/cmd/failover.ts [--context NAME] [--name NAME]
// [--metrics URL]... [--discover-proxies] [--resync 5s] [--scrape-interval 5s]`.
import { parseArgs } from 'node:util';
import { openContextStore } from '../cli/context.ts';
import { parseDuration } from '../core/duration.ts';
import { describeError, UsageError } from '../core/errors.ts';
import {
  FAILOVER_OPERATOR_NAME,
  FailoverController,
  ProxyTargets,
  ScrapingHealthSource,
} from '../multicluster/failover/index.ts';

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} failover: ${line}\n`);

async function main(): Promise<void> {
  let values: ReturnType<typeof readFlags>;
  try {
    values = readFlags();
  } catch (error) {
    log(describeError(error));
    process.exitCode = 2;
    return;
  }
  const { store, close, context } = await openContextStore(
    { context: values.context, kubeconfig: values.kubeconfig },
    process.env,
  );
  const health =
    values.metrics.length > 0 || values.discoverProxies
      ? new ScrapingHealthSource({
          targets: values.metrics,
          intervalMs: values.scrapeIntervalMs,
          onError: (target, message) => log(`scraping ${target}: ${message}`),
        })
      : undefined;
  const proxies =
    health && values.discoverProxies
      ? new ProxyTargets(
          store,
          context.platform,
          (urls) => {
            health.setTargets([...new Set([...values.metrics, ...urls])]);
            log(`health from ${health.targets.length} proxies`);
          },
          log,
        )
      : undefined;
  proxies?.start();
  health?.start();
  const controller = new FailoverController({
    store,
    log,
    name: values.name,
    ...(health ? { health } : {}),
    ...(values.resyncMs === undefined ? {} : { resyncMs: values.resyncMs }),
  });
  await controller.start();
  log(
    `watching TrafficSplits controlled by ${values.name} in context ${context.name}${health ? ', with health checks' : ''}`,
  );
  process.stdout.write('ready\n');
  const shutdown = async () => {
    health?.close();
    await proxies?.stop();
    await controller.stop();
    close();
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

function readFlags() {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options }>>;
  const options = {
    context: { type: 'string' },
    kubeconfig: { type: 'string' },
    name: { type: 'string' },
    metrics: { type: 'string', multiple: true },
    'discover-proxies': { type: 'boolean' },
    resync: { type: 'string' },
    'scrape-interval': { type: 'string' },
  } as const;
  try {
    parsed = parseArgs({ options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  return {
    context: values.context,
    kubeconfig: values.kubeconfig,
    name: values.name ?? FAILOVER_OPERATOR_NAME,
    metrics: values.metrics ?? [],
    discoverProxies: values['discover-proxies'] === true,
    resyncMs: values.resync === undefined ? undefined : parseDuration(values.resync, '--resync'),
    scrapeIntervalMs:
      values['scrape-interval'] === undefined
        ? 5000
        : parseDuration(values['scrape-interval'], '--scrape-interval'),
  };
}

main().catch((error) => {
  log(describeError(error));
  process.exitCode = 1;
});

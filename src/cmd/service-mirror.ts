// The service mirror process: `node src/cmd/service-mirror.ts [--context NAME]
// [--namespace strait-multicluster] [--link NAME] [--admin-addr 0.0.0.0:9999]
// [--repair-period 1m]`. One controller and one gateway probe per Link;
// metrics on the admin address. For Kubernetes and plain hosts: a local
// cluster's control plane runs the same service mirror itself.
import { parseArgs } from 'node:util';
import { openContextStore } from '../cli/context.ts';
import { MULTICLUSTER_NAMESPACE, Ports } from '../core/api/names.ts';
import { parseDuration } from '../core/duration.ts';
import { describeError, UsageError } from '../core/errors.ts';
import { LinkManager, MirrorMetrics } from '../multicluster/index.ts';
import { linkRemoteStores } from '../platform/local/multicluster/remote-store.ts';
import { createAdminServer } from '../proxy/admin/server.ts';

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} service-mirror: ${line}\n`);

function readFlags() {
  const options = {
    context: { type: 'string' },
    kubeconfig: { type: 'string' },
    namespace: { type: 'string', default: MULTICLUSTER_NAMESPACE },
    link: { type: 'string' },
    'admin-addr': { type: 'string', default: `0.0.0.0:${Ports.mirrorAdmin}` },
    'repair-period': { type: 'string', default: '1m' },
  } as const;
  let values: ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];
  try {
    values = parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const admin = /^(.*):(\d+)$/.exec(values['admin-addr']);
  if (!admin) throw new UsageError(`--admin-addr "${values['admin-addr']}" is not host:port`);
  return {
    context: values.context,
    kubeconfig: values.kubeconfig,
    namespace: values.namespace,
    link: values.link,
    adminHost: admin[1] || '0.0.0.0',
    adminPort: Number(admin[2]),
    repairPeriodMs: parseDuration(values['repair-period'], '--repair-period'),
  };
}

async function main(): Promise<void> {
  let flags: ReturnType<typeof readFlags>;
  try {
    flags = readFlags();
  } catch (error) {
    log(describeError(error));
    process.exitCode = 2;
    return;
  }
  const { store, close, context } = await openContextStore(
    { context: flags.context, kubeconfig: flags.kubeconfig },
    process.env,
  );
  if (context.platform === 'local') {
    log(
      `local cluster ${context.name}'s control plane already mirrors its Links; this process does the same work again`,
    );
  }
  const metrics = new MirrorMetrics();
  const manager = new LinkManager({
    local: store,
    namespace: flags.namespace,
    ...(flags.link ? { linkName: flags.link } : {}),
    remoteStore: linkRemoteStores({
      local: store,
      log,
      kubernetes: async (...args) =>
        (await import('../cli/commands/mc-kubernetes.ts')).remoteKubernetes(...args),
    }),
    metrics,
    controller: { repairPeriodMs: flags.repairPeriodMs },
    log,
  });
  manager.start();
  let ready = true;
  const admin = createAdminServer({
    ready: () => ready,
    metrics: () => metrics.render(),
    shutdown: () => void shutdown(),
  });
  await new Promise<void>((resolve) => admin.listen(flags.adminPort, flags.adminHost, resolve));
  log(
    `mirroring Links in ${flags.namespace} of context ${context.name}; metrics on ${flags.adminHost}:${flags.adminPort}`,
  );
  process.stdout.write('ready\n');
  const shutdown = async () => {
    ready = false;
    await manager.stop();
    admin.close();
    close();
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

main().catch((error) => {
  log(describeError(error));
  process.exit(1);
});

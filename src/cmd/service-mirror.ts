// The service mirror process: `node src/cmd/service-mirror.ts [--context NAME]
// [--namespace strait-multicluster] [--link NAME] [--admin-addr 0.0.0.0:9999]
// [--repair-period 1m]`. One controller and one gateway probe per Link;
// metrics on the admin address.
import { parseArgs } from 'node:util';
import { openContextStore } from '../cli/context.ts';
import type { Secret } from '../core/api/core.ts';
import { LINK_CREDENTIALS_KEY } from '../core/api/multicluster.ts';
import { MULTICLUSTER_NAMESPACE, Ports } from '../core/api/names.ts';
import { parseDuration } from '../core/duration.ts';
import { describeError, StraitError, UsageError } from '../core/errors.ts';
import { Kinds } from '../core/kinds.ts';
import type { ResourceStore } from '../core/store.ts';
import { LinkManager, MirrorMetrics } from '../multicluster/index.ts';
import { isKubernetesToken } from '../multicluster/service-mirror/token-renewal.ts';
import { createApiStore } from '../platform/local/api/client.ts';
import { formatKubeconfig, parseKubeconfig } from '../platform/local/api/kubeconfig.ts';
import { createRefreshingApiStore } from '../platform/local/api/refreshing-token.ts';
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
  const metrics = new MirrorMetrics();
  const manager = new LinkManager({
    local: store,
    namespace: flags.namespace,
    ...(flags.link ? { linkName: flags.link } : {}),
    remoteStore: (secret) => remoteStore(store, secret),
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

/**
 * The target's API from a Link's credentials Secret. A ServiceAccount token is
 * renewed before it expires and the Secret rewritten with the new one, so a
 * link never depends on a long-lived token.
 */
async function remoteStore(local: ResourceStore, secret: Secret): Promise<ResourceStore> {
  const where = `Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
  const encoded = secret.data?.[LINK_CREDENTIALS_KEY];
  const text = encoded
    ? Buffer.from(encoded, 'base64').toString('utf8')
    : secret.stringData?.[LINK_CREDENTIALS_KEY];
  if (!text) throw new StraitError('E_LINK_CREDENTIALS', `${where} has no "${LINK_CREDENTIALS_KEY}" key`);
  const credential = parseKubeconfig(text, where);
  if (isKubernetesToken(credential.token)) return kubernetesRemoteStore(local, secret, text);
  const account = serviceAccountOf(credential.token);
  if (!account)
    return createApiStore({ server: credential.server, ca: credential.caPem, token: credential.token });
  return createRefreshingApiStore(credential, account, {
    onRefresh: (token) => {
      const kubeconfig = Buffer.from(formatKubeconfig({ ...credential, token })).toString('base64');
      local
        .patch(
          {
            apiVersion: 'v1',
            kind: 'Secret',
            namespace: secret.metadata.namespace as string,
            name: secret.metadata.name,
          },
          { data: { [LINK_CREDENTIALS_KEY]: kubeconfig } },
        )
        .then(() => log(`renewed the token in ${where}`))
        .catch((error) => log(`saving the renewed token in ${where}: ${describeError(error)}`));
    },
    onError: (error) => log(`renewing the token of ${where}: ${describeError(error)}`),
  });
}

/** A Kubernetes target: its TokenRequest token is renewed and written back the same way. */
async function kubernetesRemoteStore(
  local: ResourceStore,
  secret: Secret,
  text: string,
): Promise<ResourceStore> {
  const where = `Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
  const { remoteKubernetes } = await import('../cli/commands/mc-kubernetes.ts');
  const remote = remoteKubernetes(text, where, {
    onRenewed: (kubeconfig) => {
      local
        .patch(
          { ...Kinds.Secret, namespace: secret.metadata.namespace as string, name: secret.metadata.name },
          { data: { [LINK_CREDENTIALS_KEY]: Buffer.from(kubeconfig).toString('base64') } },
        )
        .then(() => log(`renewed the token in ${where}`))
        .catch((error) => log(`saving the renewed token in ${where}: ${describeError(error)}`));
    },
    onError: (error) => log(`renewing the token of ${where}: ${describeError(error)}`),
  });
  remote.renewer.start();
  return Object.assign(remote.store, { close: () => remote.renewer.stop() });
}

/** The ServiceAccount a token belongs to, from its claims; undefined for other tokens. */
function serviceAccountOf(token: string): { namespace: string; name: string } | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      serviceAccount?: { namespace?: string; name?: string };
    };
    const { namespace, name } = claims.serviceAccount ?? {};
    return namespace && name ? { namespace, name } : undefined;
  } catch {
    return undefined;
  }
}

main().catch((error) => {
  log(describeError(error));
  process.exit(1);
});

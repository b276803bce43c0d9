import { rmSync } from 'node:fs';
import { formatAge } from '../../core/duration.ts';
import { StraitError, UsageError } from '../../core/errors.ts';
import { releaseBlock } from '../../platform/local/block-claims.ts';
import { apiUrl, readClusterConfig } from '../../platform/local/cluster-config.ts';
import { openClusterStore } from '../../platform/local/cluster-store.ts';
import {
  controlPlaneStatus,
  startControlPlaneProcess,
  stopControlPlaneProcess,
} from '../../platform/local/control-plane-process.ts';
import { createCluster, readPemInput } from '../../platform/local/create-cluster.ts';
import {
  clusterDirectory,
  listClusterNames,
  readHomeConfig,
  straitHome,
  writeHomeConfig,
} from '../../platform/local/home.ts';
import { deleteNetworkNamespace } from '../../platform/local/netns.ts';
import { type Command, type OptionValues, optionalString, requireString } from '../command.ts';
import { formatDocument, formatTable, outputFormat, outputOption } from '../output.ts';
import { type LocalGatewayState, localGatewayState } from './mc-local-gateway.ts';

const clusterOption = {
  cluster: { type: 'string' as const, valueName: 'NAME', description: 'name of the local cluster' },
};

function pemFlag(values: OptionValues, name: string) {
  const path = optionalString(values, name);
  return path === undefined ? undefined : readPemInput(path, `--${name}`);
}

export const localUpCommand: Command = {
  name: 'up',
  summary: 'Create a local cluster (first time) and start its control plane',
  options: {
    ...clusterOption,
    'trust-anchor-cert': { type: 'string', valueName: 'FILE', description: 'trust anchor certificate (PEM)' },
    'trust-anchor-key': {
      type: 'string',
      valueName: 'FILE',
      description: 'trust anchor key, to sign an issuer',
    },
    'issuer-cert': { type: 'string', valueName: 'FILE', description: 'issuer certificate (PEM)' },
    'issuer-key': { type: 'string', valueName: 'FILE', description: 'issuer private key (PEM)' },
    'trust-domain': {
      type: 'string',
      valueName: 'DOMAIN',
      description: 'trust domain (default cluster.local)',
    },
    'cluster-domain': {
      type: 'string',
      valueName: 'DOMAIN',
      description: 'cluster domain (default cluster.local)',
    },
    netns: {
      type: 'boolean',
      description: 'run the cluster in its own network namespace (root; first up only)',
    },
  },
  async run(ctx) {
    const name = requireString(ctx.values, 'cluster');
    const home = straitHome(ctx.env);
    const trustAnchorCert = pemFlag(ctx.values, 'trust-anchor-cert');
    const trustAnchorKey = pemFlag(ctx.values, 'trust-anchor-key');
    const issuerCert = pemFlag(ctx.values, 'issuer-cert');
    const issuerKey = pemFlag(ctx.values, 'issuer-key');
    const trustDomain = optionalString(ctx.values, 'trust-domain');
    const clusterDomain = optionalString(ctx.values, 'cluster-domain');
    const { config, created } = await createCluster({
      home,
      name,
      ...(trustAnchorCert ? { trustAnchorCert } : {}),
      ...(trustAnchorKey ? { trustAnchorKey } : {}),
      ...(issuerCert ? { issuerCert } : {}),
      ...(issuerKey ? { issuerKey } : {}),
      ...(trustDomain ? { trustDomain } : {}),
      ...(clusterDomain ? { clusterDomain } : {}),
      ...(ctx.values.netns === true ? { netns: true } : {}),
    });
    if (!created && (trustAnchorCert || issuerCert)) {
      ctx.stderr.write(`cluster ${name} exists: its trust anchor and issuer are kept\n`);
    }
    const dir = clusterDirectory(home, name);
    const { pid, started } = await startControlPlaneProcess(dir, { env: ctx.env });
    if (!readHomeConfig(home)['current-context'])
      writeHomeConfig(home, { ...readHomeConfig(home), 'current-context': name });
    ctx.stdout.write(
      `cluster ${name} ${created ? 'created' : 'exists'}; control plane ${started ? 'started' : 'already running'} (pid ${pid})\n` +
        `  API ${apiUrl(config)}, addresses ${config.cidr}${config.netns ? ` in network namespace ${config.netns}` : ''}\n` +
        `  use it with: strait local get services -A --context ${name}\n`,
    );
    return 0;
  },
};

export const localDownCommand: Command = {
  name: 'down',
  summary: 'Stop a local cluster’s control plane (and with --delete, remove its state)',
  options: {
    ...clusterOption,
    delete: { type: 'boolean', description: 'also delete the state directory' },
  },
  async run(ctx) {
    const name = requireString(ctx.values, 'cluster');
    const home = straitHome(ctx.env);
    if (!listClusterNames(home).includes(name)) {
      throw new StraitError('E_CLUSTER_NOT_FOUND', `no local cluster "${name}" in ${home}`);
    }
    const dir = clusterDirectory(home, name);
    const stopped = await stopControlPlaneProcess(dir);
    ctx.stdout.write(`cluster ${name}: control plane ${stopped ? 'stopped' : 'was not running'}\n`);
    if (ctx.values.delete) {
      const cluster = readClusterConfig(dir);
      if (cluster.netns) deleteNetworkNamespace(cluster.index, cluster.name);
      releaseBlock(cluster.index, dir);
      rmSync(dir, { recursive: true, force: true });
      const config = readHomeConfig(home);
      if (config['current-context'] === name) {
        delete config['current-context'];
        writeHomeConfig(home, config);
      }
      ctx.stdout.write(`cluster ${name}: state deleted\n`);
    }
    return 0;
  },
};

export const localStatusCommand: Command = {
  name: 'status',
  summary: 'Show local clusters and whether their control planes run',
  options: {
    ...clusterOption,
    ...outputOption,
  },
  async run(ctx) {
    const format = outputFormat(ctx.values.output);
    const home = straitHome(ctx.env);
    const only = optionalString(ctx.values, 'cluster');
    const names = listClusterNames(home).filter((n) => only === undefined || n === only);
    if (only !== undefined && names.length === 0) {
      throw new StraitError('E_CLUSTER_NOT_FOUND', `no local cluster "${only}" in ${home}`);
    }
    const current = readHomeConfig(home)['current-context'];
    const statuses = await Promise.all(names.map((n) => controlPlaneStatus(clusterDirectory(home, n))));
    const gateways = await Promise.all(
      names.map((n, i) => (statuses[i]?.ready ? gatewayOf(clusterDirectory(home, n)) : undefined)),
    );
    if (format !== 'table') {
      ctx.stdout.write(
        formatDocument(
          statuses.map((s, i) => ({
            name: s.config.name,
            running: s.pid !== undefined,
            ready: s.ready,
            pid: s.pid ?? null,
            api: apiUrl(s.config),
            addresses: s.config.cidr,
            current: s.config.name === current,
            gateway: gateways[i] ?? null,
          })),
          format,
        ),
      );
    } else if (statuses.length === 0) {
      ctx.stdout.write('No local clusters. Create one with: strait local up --cluster NAME\n');
    } else {
      ctx.stdout.write(
        formatTable(
          ['CURRENT', 'CLUSTER', 'STATUS', 'PID', 'API', 'ADDRESSES', 'GATEWAY', 'AGE'],
          statuses.map((s, i) => [
            s.config.name === current ? '*' : '',
            s.config.name,
            s.ready ? 'Running' : s.pid !== undefined ? 'Starting' : 'Stopped',
            s.pid ?? '',
            apiUrl(s.config),
            s.config.cidr,
            gatewayColumn(gateways[i]),
            formatAge(Date.now() - Date.parse(s.config.createdAt)),
          ]),
        ),
      );
    }
    const stopped = statuses.filter((s) => !s.ready).length;
    return only !== undefined && stopped > 0 ? 1 : 0;
  },
};

/** The multi-cluster gateway's state, read from a running cluster (undefined when it has none). */
async function gatewayOf(dir: string): Promise<LocalGatewayState | undefined> {
  const store = openClusterStore(dir);
  try {
    return await localGatewayState(store);
  } catch {
    return undefined;
  } finally {
    store.close();
  }
}

function gatewayColumn(state: LocalGatewayState | undefined): string {
  if (!state) return '-';
  const restarts = state.restarts > 0 ? ` (${state.restarts} restart${state.restarts === 1 ? '' : 's'})` : '';
  return `${state.ready ? 'Ready' : state.running ? 'Starting' : 'Restarting'}${restarts}`;
}

export const localUseCommand: Command = {
  name: 'use',
  summary: 'Make a local cluster the default context',
  args: 'NAME',
  run(ctx) {
    const name = ctx.positionals[0];
    if (!name || ctx.positionals.length > 1) throw new UsageError('give one cluster name');
    const home = straitHome(ctx.env);
    if (!listClusterNames(home).includes(name)) {
      throw new StraitError('E_CLUSTER_NOT_FOUND', `no local cluster "${name}" in ${home}`);
    }
    writeHomeConfig(home, { ...readHomeConfig(home), 'current-context': name });
    ctx.stdout.write(`current context is now ${name}\n`);
    return 0;
  },
};

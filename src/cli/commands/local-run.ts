import { spawn } from 'node:child_process';
import { UsageError } from '../../core/errors.ts';
import { readClusterConfig } from '../../platform/local/cluster-config.ts';
import { openClusterStore } from '../../platform/local/cluster-store.ts';
import { clusterDirectory, listClusterNames, straitHome } from '../../platform/local/home.ts';
import { inNamespace } from '../../platform/local/netns.ts';
import { runWorkload } from '../../platform/local/workload/run-workload.ts';
import { type Command, optionalString, requireString } from '../command.ts';

function parsePort(text: string): { name?: string; port: number } {
  const match = /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?)=)?(\d+)$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--port "${text}" is not a port`, 'write 8080, or name=8080 for a named port');
  }
  return match[1] ? { name: match[1], port } : { port };
}

function parseLabel(text: string): [string, string] {
  const index = text.indexOf('=');
  if (index <= 0) throw new UsageError(`--label "${text}" is not key=value`);
  return [text.slice(0, index), text.slice(index + 1)];
}

/**
 * A workload of a cluster in its own network namespace runs there with its
 * supervisor (this command, started again inside), so that its readiness
 * checks and address probes see the cluster's network.
 */
async function runInNamespace(namespace: string, env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...args] = inNamespace(namespace, [
    process.execPath,
    ...process.execArgv,
    ...process.argv.slice(1),
  ]);
  const child = spawn(command as string, args, {
    stdio: 'inherit',
    env: { ...env, STRAIT_NETNS: namespace },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  return code;
}

export const localRunCommand: Command = {
  name: 'run',
  summary: 'Run an application with its proxy as a workload of a local cluster',
  args: '-- COMMAND [ARGS...]',
  description:
    'Runs COMMAND as a workload: it gets its own address (HOST, PORT and STRAIT_* in its environment),\n' +
    'a proxy with a workload certificate (HTTP_PROXY points at it), and a Workload that is ready only\n' +
    'while the proxy and the readiness check pass. The Workload is removed when COMMAND exits.',
  options: {
    cluster: {
      type: 'string',
      valueName: 'NAME',
      description: 'local cluster (default: the current context)',
    },
    namespace: { type: 'string', short: 'n', valueName: 'NS', description: 'namespace', default: 'default' },
    'service-account': {
      type: 'string',
      valueName: 'SA',
      description: 'service account (the identity)',
      default: 'default',
    },
    name: { type: 'string', valueName: 'NAME', description: 'workload name (also its app label)' },
    port: {
      type: 'string',
      multiple: true,
      valueName: '[NAME=]PORT',
      description: 'port the application listens on',
    },
    'ready-path': {
      type: 'string',
      valueName: 'PATH',
      description: 'HTTP readiness check on the first port',
    },
    label: {
      type: 'string',
      short: 'l',
      multiple: true,
      valueName: 'KEY=VALUE',
      description: 'workload label',
    },
    'no-proxy': { type: 'boolean', description: 'run without a proxy (outside the mesh)' },
    'identity-files': {
      type: 'boolean',
      description: 'give the application its own workload certificate (STRAIT_CERT_FILE, STRAIT_KEY_FILE)',
    },
    address: {
      type: 'string',
      valueName: 'IP',
      description: 'fixed address (of the cluster block, or its link address in a network namespace)',
    },
  },
  async run(ctx) {
    const home = straitHome(ctx.env);
    const cluster =
      optionalString(ctx.values, 'cluster') ??
      optionalString(ctx.values, 'context') ??
      listClusterNames(home)[0];
    if (!cluster) throw new UsageError('--cluster is required: no local cluster exists');
    if (!listClusterNames(home).includes(cluster))
      throw new UsageError(`no local cluster "${cluster}" in ${home}`);
    const name = requireString(ctx.values, 'name');
    const ports = ((ctx.values.port as string[] | undefined) ?? []).map(parsePort);
    const labels = Object.fromEntries(((ctx.values.label as string[] | undefined) ?? []).map(parseLabel));
    if (ctx.rest.length === 0) throw new UsageError('give the command to run after --');
    const dir = clusterDirectory(home, cluster);
    const config = readClusterConfig(dir);
    if (config.netns && ctx.env.STRAIT_NETNS !== config.netns) return runInNamespace(config.netns, ctx.env);
    const store = openClusterStore(dir);
    const readyPath = optionalString(ctx.values, 'ready-path');
    const address = optionalString(ctx.values, 'address');
    try {
      const running = await runWorkload({
        dir,
        config,
        store,
        namespace: requireString(ctx.values, 'namespace'),
        serviceAccount: requireString(ctx.values, 'service-account'),
        name,
        ports,
        ...(readyPath ? { readyPath } : {}),
        ...(address ? { address } : {}),
        labels,
        command: ctx.rest,
        proxy: ctx.values['no-proxy'] !== true,
        identityFiles: ctx.values['identity-files'] === true,
        env: ctx.env,
        log: (line) => ctx.stderr.write(`strait: ${line}\n`),
      });
      ctx.stderr.write(`strait: workload ${name} runs at ${running.address}\n`);
      const stop = () => running.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const code = await running.exited;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      return code;
    } finally {
      store.close();
    }
  },
};

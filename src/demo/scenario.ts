// The steps of `strait demo`: two clusters, the application in both, a link, a call across, a
// 50/50 split, failover and failback. Each step narrates, runs what a user would type, waits with
// progress and shows its evidence; a step throws when what it shows is not what it promised.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrafficSplit } from '../core/api/traffic.ts';
import { StraitError } from '../core/errors.ts';
import { Kinds } from '../core/kinds.ts';
import { linkAddress, readClusterConfig } from '../platform/local/cluster-config.ts';
import { clusterDirectory } from '../platform/local/home.ts';
import { FORGED_CALLER } from './app/caller.ts';
import { BACKEND, EVEN_SPLIT, EXPORTED_BACKEND, FAILOVER_SPLIT, NAMESPACE } from './manifests.ts';
import {
  type CallAnswer,
  callThroughFrontend,
  callUrl,
  endpointAddresses,
  formatCounts,
  frontendStats,
  readyWorkloadAddress,
  withCluster,
} from './observe.ts';
import type { DemoPrinter } from './printer.ts';
import type { DemoProcesses } from './processes.ts';
import { curlCommand } from './reach.ts';
import { mustRunStrait } from './strait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STRAIT = join(ROOT, 'src/cmd/strait.ts');
const BACKEND_APP = fileURLToPath(new URL('./app/backend.ts', import.meta.url));
const FRONTEND_APP = fileURLToPath(new URL('./app/frontend.ts', import.meta.url));
const CLUSTERS = ['west', 'east'] as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What every step works with. */
export interface DemoWorld {
  home: string;
  /** The environment of every command and process: STRAIT_HOME is the demo's home. */
  env: NodeJS.ProcessEnv;
  print: DemoPrinter;
  processes: DemoProcesses;
  signal: AbortSignal;
  /** Whether the clusters run in their own network namespaces, else on loopback blocks. */
  netns: boolean;
  /** Why they run where they do, as the first step says. */
  networkReason: string;
}

export interface DemoStep {
  title: string;
  run: (world: DemoWorld) => Promise<void>;
}

async function strait(world: DemoWorld, args: string[], show = true): Promise<string> {
  world.print.command(`strait ${args.join(' ')}`);
  const out = await mustRunStrait(args, world.env);
  if (show && out.trim()) world.print.evidence(out);
  return out;
}

function manifest(world: DemoWorld, name: string, text: string): string {
  const file = join(world.home, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

function background(
  world: DemoWorld,
  name: string,
  command: string[],
  shown: string,
  env: NodeJS.ProcessEnv = {},
): void {
  world.print.command(shown);
  world.processes.start(name, command, { ...world.env, ...env });
}

/**
 * Starts one workload of the application. West runs two back ends, so that each side of the 50/50
 * split is a whole backend's share (one endpoint in west against one gateway would weigh the same,
 * and the proxy then balances them by latency alone).
 */
function runApp(world: DemoWorld, cluster: string, app: 'frontend' | 'backend', name: string = app): void {
  const ports = app === 'backend' ? ['--port', 'http=8080', '--port', 'grpc=9090'] : ['--port', 'http=8080'];
  const args = [
    ...['local', 'run', '--cluster', cluster, '-n', NAMESPACE, '--service-account', app, '--name', name],
    ...(name === app ? [] : ['--label', `app=${app}`]),
    ...ports,
    ...['--ready-path', '/ready', '--', process.execPath, app === 'backend' ? BACKEND_APP : FRONTEND_APP],
  ];
  background(
    world,
    `${name}-${cluster}`,
    [process.execPath, STRAIT, ...args],
    `strait ${args.slice(0, -2).join(' ')} node src/demo/app/${app}.ts &`,
  );
}

/** West's two back ends. */
const WEST_BACKENDS = ['backend', 'backend-2'] as const;

function workloadAddress(world: DemoWorld, cluster: string, app: string): Promise<string> {
  return world.print.waitFor(
    `${app} ready in ${cluster}`,
    async () => {
      const address = await readyWorkloadAddress(world.home, cluster, app);
      if (!address && world.processes.exited(`${app}-${cluster}`)) {
        throw new Error(
          `${app} in ${cluster} exited:\n${world.processes.log(`${app}-${cluster}`).slice(-2000)}`,
        );
      }
      return address;
    },
    world.signal,
    90_000,
  );
}

/** One row of `strait failover status -o json`. */
interface FailoverRow {
  state: string;
  reason: string;
  weights: Record<string, number>;
}

async function failoverRow(world: DemoWorld): Promise<FailoverRow | undefined> {
  const out = await mustRunStrait(['failover', 'status', '--context', 'west', '-o', 'json'], world.env);
  return (JSON.parse(out) as FailoverRow[])[0];
}

/** Counts the front end in west saw over the next `ms`. */
async function observe(world: DemoWorld, ms: number) {
  const frontend = (await readyWorkloadAddress(world.home, 'west', 'frontend')) as string;
  const since = Date.now();
  await sleep(ms);
  world.signal.throwIfAborted();
  const counts = await frontendStats(world.home, 'west', frontend, since);
  world.print.evidence(formatCounts(counts));
  return counts;
}

/** West's front end, as east's back end must see it through east's gateway. */
const WEST_FRONTEND = 'frontend.shop.serviceaccount.identity.strait.cluster.local';

/**
 * What one call from west's front end to `backend-east` shows: east answered, and east's back end
 * saw the front end's verified identity (not the gateway's, nor the one the front end claimed).
 */
function crossClusterCaller(protocol: 'http' | 'grpc', answer: CallAnswer): string {
  if (!answer.ok || answer.cluster !== 'east') {
    throw new Error(
      `the ${protocol} call to backend-east was not answered by east: ${JSON.stringify(answer)}`,
    );
  }
  if (answer.caller !== WEST_FRONTEND) {
    throw new Error(
      `east’s back end saw caller ${answer.caller ?? '(none)'} on the ${protocol} call, not ${WEST_FRONTEND}`,
    );
  }
  return `${protocol}: east’s back end saw caller ${answer.caller}`;
}

const steps: DemoStep[] = [
  {
    title: 'Two clusters, one trust anchor',
    async run(world) {
      const { netns } = world;
      world.print.step(
        'Two clusters, one trust anchor',
        'A trust anchor, then west and east: each a control plane with its own issuer signed by the anchor.\n' +
          (netns
            ? `Each cluster gets its own network namespace (${world.networkReason}): the other cluster and\n` +
              'the host reach it only through its link address.'
            : `Each cluster gets its own loopback block (${world.networkReason}).`),
      );
      const pki = join(world.home, 'anchor');
      await strait(world, ['identity', 'anchor', '--out', pki]);
      for (const cluster of CLUSTERS) {
        try {
          await strait(world, [
            ...['local', 'up', '--cluster', cluster],
            ...['--trust-anchor-cert', join(pki, 'ca.crt'), '--trust-anchor-key', join(pki, 'ca.key')],
            ...(netns ? ['--netns'] : []),
          ]);
        } catch (error) {
          // Root is not always enough: a container may forbid new network namespaces.
          if (!netns) throw error;
          throw new StraitError('E_DEMO_NETNS', (error as Error).message, {
            hint: 'run `strait demo --loopback` to put the clusters on loopback blocks instead',
          });
        }
      }
    },
  },
  {
    title: 'Multi-cluster components',
    async run(world) {
      world.print.step(
        'Multi-cluster components',
        'Each control plane runs them: east’s gateway (mTLS only, port 4143) starts once installed;\n' +
          'west’s service mirror follows whatever links west gets.',
      );
      for (const cluster of CLUSTERS) await strait(world, ['mc', 'install', '--context', cluster], false);
      await strait(world, ['local', 'get', 'workloads', '-n', 'strait-multicluster', '--context', 'east']);
    },
  },
  {
    title: 'The application in both clusters',
    async run(world) {
      world.print.step(
        'The application in both clusters',
        'A front end that calls `backend` over HTTP and gRPC every 100 ms, and the back end (two in\n' +
          'west), which answers with its cluster. Each runs beside its own proxy with a certificate from\n' +
          'its cluster.',
      );
      for (const cluster of CLUSTERS) {
        await strait(world, [
          'local',
          'apply',
          '--context',
          cluster,
          '-f',
          manifest(world, 'backend', BACKEND),
        ]);
      }
      for (const name of WEST_BACKENDS) runApp(world, 'west', 'backend', name);
      runApp(world, 'west', 'frontend');
      runApp(world, 'east', 'backend');
      runApp(world, 'east', 'frontend');
      for (const name of [...WEST_BACKENDS, 'frontend']) await workloadAddress(world, 'west', name);
      for (const name of ['backend', 'frontend']) await workloadAddress(world, 'east', name);
      await observe(world, 1500);
    },
  },
  {
    title: 'Export the back end from east',
    async run(world) {
      world.print.step(
        'Export the back end from east',
        'A label marks a Service for linked clusters to mirror.',
      );
      await strait(world, [
        ...[
          'local',
          'apply',
          '--context',
          'east',
          '-f',
          manifest(world, 'backend-exported', EXPORTED_BACKEND),
        ],
      ]);
      await strait(world, [
        ...['local', 'get', 'services', '-n', NAMESPACE, '--context', 'east'],
        ...['-l', 'mirror.strait.io/exported=true'],
      ]);
    },
  },
  {
    title: 'Link west to east',
    async run(world) {
      world.print.step(
        'Link west to east',
        'West gets a short-lived, read-only credential for east and a Link; the mirror creates\n' +
          '`backend-east` in west, its endpoints at east’s gateway.',
      );
      await strait(world, [
        'mc',
        'link',
        '--context',
        'west',
        '--target-context',
        'east',
        '--cluster-name',
        'east',
      ]);
      const gateway = linkAddress(readClusterConfig(clusterDirectory(world.home, 'east')));
      await world.print.waitFor(
        'backend-east mirrored into west with ready endpoints',
        async () =>
          (await endpointAddresses(world.home, 'west', 'backend-east'))?.ready.includes(gateway)
            ? true
            : undefined,
        world.signal,
      );
      await strait(world, ['local', 'get', 'services', '-n', NAMESPACE, '--context', 'west']);
      await strait(world, [
        'local',
        'get',
        'endpoints',
        'backend-east',
        '-n',
        NAMESPACE,
        '--context',
        'west',
      ]);
      const args = ['mc', 'gateways', '--context', 'west'];
      const table = await world.print.waitFor(
        'east’s gateway probed alive',
        async () => {
          const out = await mustRunStrait(args, world.env);
          return /^east\s+true\s/m.test(out) ? out : undefined;
        },
        world.signal,
      );
      world.print.command(`strait ${args.join(' ')}`);
      world.print.evidence(table);
    },
  },
  {
    title: 'Call backend-east from west',
    async run(world) {
      world.print.step(
        'Call backend-east from west',
        'West’s front end calls `backend-east` by name; its proxy opens mTLS to east’s gateway, which\n' +
          'forwards to east’s back end with the caller’s verified identity. The back end answers with the\n' +
          'caller its proxy handed it in `strait-client-id`. The front end claims to be\n' +
          `${FORGED_CALLER} there; the proxy replaces that.`,
      );
      const frontend = await workloadAddress(world, 'west', 'frontend');
      world.print.command(curlCommand(world.home, 'west', callUrl(frontend, 'backend-east')));
      const answer = await callThroughFrontend(world.home, 'west', frontend, 'backend-east');
      world.print.evidence(JSON.stringify(answer));
      for (const protocol of ['http', 'grpc'] as const) {
        world.print.ok(crossClusterCaller(protocol, answer[protocol]));
      }
    },
  },
  {
    title: 'Split traffic 50/50',
    async run(world) {
      world.print.step(
        'Split traffic 50/50',
        'An SMI TrafficSplit sends half of the calls to `backend` to east’s mirror; the proxies follow it live.',
      );
      await strait(world, [
        'local',
        'apply',
        '--context',
        'west',
        '-f',
        manifest(world, 'split', EVEN_SPLIT),
      ]);
      const frontend = (await readyWorkloadAddress(world.home, 'west', 'frontend')) as string;
      const since = Date.now();
      await world.print.waitFor(
        'calls answered by both clusters',
        async () => {
          const counts = await frontendStats(world.home, 'west', frontend, since);
          const both = (['http', 'grpc'] as const).every((p) => counts[p].west && counts[p].east);
          return both ? true : undefined;
        },
        world.signal,
        30_000,
      );
      world.print.line('  calls over the next 4 s:');
      await observe(world, 4000);
    },
  },
  {
    title: 'Hand the split to the failover operator',
    async run(world) {
      world.print.step(
        'Hand the split to the failover operator',
        'West’s control plane runs the operator. Labelled for it, with `backend` as primary,\n' +
          'the split gets all weight on the primary while it is ready.',
      );
      await strait(world, [
        'local',
        'apply',
        '--context',
        'west',
        '-f',
        manifest(world, 'failover-split', FAILOVER_SPLIT),
      ]);
      await world.print.waitFor(
        'all weight on the primary',
        async () => {
          const row = await failoverRow(world);
          return row?.state === 'Primary' && row.weights['backend-east'] === 0 ? row : undefined;
        },
        world.signal,
      );
      await strait(world, ['failover', 'status', '--context', 'west']);
    },
  },
  {
    title: 'Stop west’s back ends: failover',
    async run(world) {
      world.print.step(
        'Stop west’s back ends: failover',
        'With no ready endpoint left for the primary, the operator moves all weight to east.',
      );
      const stoppedAt = Date.now();
      world.print.command('kill %1 %2   # the two `strait local run`s of west’s back end');
      // The back ends' proxies drain for a while; failover does not wait for them.
      const stopping = Promise.all(WEST_BACKENDS.map((name) => world.processes.stop(`${name}-west`)));
      await world.print.waitFor(
        'failover to east',
        async () => {
          const row = await failoverRow(world);
          return row?.state === 'Failover' && row.weights['backend-east'] === 100 ? row : undefined;
        },
        world.signal,
      );
      await strait(world, ['failover', 'status', '--context', 'west']);
      await stopping;
      const frontend = (await readyWorkloadAddress(world.home, 'west', 'frontend')) as string;
      const during = await frontendStats(world.home, 'west', frontend, stoppedAt);
      world.print.line('  calls since the back ends stopped (the switch included):');
      world.print.evidence(formatCounts(during));
      world.print.line('  calls after the switch:');
      const after = await observe(world, 3000);
      for (const protocol of ['http', 'grpc'] as const) {
        if (after[protocol].west || !after[protocol].east)
          throw new Error(`${protocol} calls still went to west`);
      }
    },
  },
  {
    title: 'Restart them: failback through the ramp',
    async run(world) {
      world.print.step(
        'Restart them: failback through the ramp',
        'After a hold-down the operator moves weight back in steps (25, 50, 100), watching the primary’s health.',
      );
      const weights: string[] = [];
      const abort = new AbortController();
      const watching = withCluster(world.home, 'west', async (store) => {
        try {
          for await (const event of store.watch<TrafficSplit>(Kinds.TrafficSplit, {
            namespace: NAMESPACE,
            signal: abort.signal,
          })) {
            if (event.type === 'BOOKMARK' || event.object.metadata.name !== 'backend') continue;
            const text = (event.object.spec?.backends ?? []).map((b) => `${b.service}=${b.weight}`).join(' ');
            if (weights.at(-1) !== text) weights.push(text);
          }
        } catch (error) {
          if (!abort.signal.aborted) throw error;
        }
      });
      try {
        for (const name of WEST_BACKENDS) runApp(world, 'west', 'backend', name);
        for (const name of WEST_BACKENDS) await workloadAddress(world, 'west', name);
        await world.print.waitFor(
          'back on the primary',
          async () => {
            const row = await failoverRow(world);
            return row?.state === 'Primary' && row.weights.backend === 100 ? row : undefined;
          },
          world.signal,
          90_000,
        );
      } finally {
        abort.abort();
        await watching.catch(() => {});
      }
      world.print.line('  the weights, as the operator wrote them:');
      world.print.evidence(weights.join('\n'));
      await strait(world, ['failover', 'status', '--context', 'west']);
      const after = await observe(world, 3000);
      for (const protocol of ['http', 'grpc'] as const) {
        if (!after[protocol].west || after[protocol].east)
          throw new Error(`${protocol} calls are not all back on west`);
      }
    },
  },
];

/** The demo's steps, in order. */
export const demoSteps: readonly DemoStep[] = steps;

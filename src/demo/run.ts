import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, StraitError } from '../core/errors.ts';
import { listClusterNames, straitHome } from '../platform/local/home.ts';
import { networkNamespacesSupported } from '../platform/local/netns.ts';
import { readyWorkloadAddress, statsUrl } from './observe.ts';
import { DemoPrinter } from './printer.ts';
import { DemoProcesses, processesOfHome, stopProcessGroup } from './processes.ts';
import { clusterNamespace, curlCommand } from './reach.ts';
import { demoSteps } from './scenario.ts';
import { runStrait } from './strait.ts';

/** Where the demo keeps its clusters: `$STRAIT_DEMO_HOME`, else `<STRAIT_HOME>/demo`. */
export function demoHome(env: NodeJS.ProcessEnv): string {
  return env.STRAIT_DEMO_HOME || join(straitHome(env), 'demo');
}

export interface DemoOptions {
  env: NodeJS.ProcessEnv;
  out: NodeJS.WritableStream;
  /** Leave everything running at the end. */
  keep: boolean;
  /** Non-interactive: no progress redraws; a final summary line. */
  ci: boolean;
  /** Aborted on Ctrl-C: the current step stops and everything is cleaned up. */
  signal: AbortSignal;
  /** Loopback blocks even where network namespaces are possible. */
  loopback: boolean;
}

/**
 * Removes everything a demo left in `home`: its processes (recorded, then any other process still
 * running with this home), its clusters' control planes, and the directory itself.
 */
export async function demoDown(
  home: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  if (!existsSync(home)) return;
  const homeEnv = { ...env, STRAIT_HOME: home };
  await new DemoProcesses(home).stopAll();
  for (const cluster of listClusterNames(home)) {
    const result = await runStrait(['local', 'down', '--cluster', cluster, '--delete'], homeEnv);
    log(
      result.code === 0
        ? `cluster ${cluster} stopped and deleted`
        : `cluster ${cluster}: ${result.stderr.trim()}`,
    );
  }
  for (const pid of processesOfHome(home)) await stopProcessGroup(pid, 3000);
  rmSync(home, { recursive: true, force: true });
}

async function lookAround(home: string): Promise<string> {
  const clusters = ['west', 'east'].filter((cluster) => listClusterNames(home).includes(cluster));
  const namespaces = clusters.flatMap((cluster) => clusterNamespace(home, cluster) ?? []);
  const frontend = clusters.includes('west')
    ? await readyWorkloadAddress(home, 'west', 'frontend').catch(() => undefined)
    : undefined;
  return [
    '',
    'The demo is still running. To look around:',
    `  export STRAIT_HOME=${home}`,
    '  strait local status',
    '  strait local get services -n shop --context west',
    '  strait local get endpoints backend-east -n shop --context west',
    '  strait mc gateways --context west',
    '  strait local get workloads -n strait-multicluster --context east',
    '  strait mc check --context west',
    '  strait failover status --context west',
    ...(namespaces.length > 0
      ? [`West and east run in the network namespaces ${namespaces.join(' and ')}; the host reaches`]
      : []),
    ...(frontend
      ? [
          `${namespaces.length > 0 ? 'their workloads from inside them, e.g.' : 'For example,'} west’s front end’s counts since it started:`,
          `  ${curlCommand(home, 'west', statsUrl(frontend, 0))}`,
        ]
      : namespaces.length > 0
        ? ['their workloads from inside them: ip netns exec NAMESPACE curl …']
        : []),
    `Logs are in ${join(home, 'logs')}. To stop it and remove its state: strait demo down`,
  ].join('\n');
}

/**
 * Plays the multi-cluster scenario in its own home and resolves to the exit code: 0 when every
 * step passed, 1 otherwise (130 when interrupted). Without `keep`, nothing is left behind.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const home = demoHome(options.env);
  const env = { ...options.env, STRAIT_HOME: home };
  const print = new DemoPrinter(
    options.out,
    demoSteps.length,
    !options.ci && (options.out as { isTTY?: boolean }).isTTY === true,
  );
  const started = Date.now();
  if (existsSync(home)) {
    print.line(`A previous demo left ${home}; cleaning it up first.`);
    await demoDown(home, options.env, (line) => print.line(`  ${line}`));
  }
  mkdirSync(home, { recursive: true });
  const processes = new DemoProcesses(home);
  const netns = !options.loopback && networkNamespacesSupported();
  const networkReason = netns
    ? 'running as root, with iproute2'
    : options.loopback
      ? '--loopback'
      : 'network namespaces need root and iproute2';
  const world = { home, env, print, processes, signal: options.signal, netns, networkReason };
  print.line(`Strait demo: two clusters on this machine, kept in ${home}.`);
  print.line(`To type the commands yourself, first: export STRAIT_HOME=${home}`);

  let passed = 0;
  let failure: string | undefined;
  for (const step of demoSteps) {
    try {
      options.signal.throwIfAborted();
      await step.run(world);
      passed++;
    } catch (error) {
      failure = options.signal.aborted ? 'interrupted' : `${step.title}: ${describeError(error)}`;
      if (!options.signal.aborted) {
        print.fail(describeError(error));
        if (error instanceof StraitError && error.hint) print.line(`    hint: ${error.hint}`);
      }
      break;
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const keep = options.keep && !options.signal.aborted;
  if (keep) print.line(await lookAround(home));
  else {
    print.line();
    print.line(
      options.signal.aborted ? 'Interrupted: stopping everything the demo started…' : 'Cleaning up…',
    );
    await demoDown(home, options.env, () => {});
  }
  const summary = options.signal.aborted
    ? `demo: interrupted after ${passed}/${demoSteps.length} steps (${seconds}s); everything it started is stopped`
    : failure
      ? `demo: ${passed}/${demoSteps.length} steps passed in ${seconds}s; failed at ${failure}`
      : `demo: all ${demoSteps.length} steps passed in ${seconds}s`;
  if (options.ci || failure) print.line(summary);
  else print.line(`Done in ${seconds}s.`);
  if (options.signal.aborted) return 130;
  return failure ? 1 : 0;
}

// The failover benchmark's traffic part: real workloads on a local cluster, the operator in its
// control plane, and two steady clients calling the split's apex through their proxies, a GET one
// (retried by the proxy) and a POST one (never retried once it may have reached the server). Each
// round stops the primary's workload and counts what the clients lost while traffic moved.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Workload } from '../src/core/api/local.ts';
import type { TrafficSplit } from '../src/core/api/traffic.ts';
import { Kinds } from '../src/core/kinds.ts';
import type { ResourceStore } from '../src/core/store.ts';
import { localRunArgs } from '../test/fixtures/local-clusters.ts';
import {
  failoverSplitManifest,
  joinManifests,
  namespaceManifest,
  serviceManifest,
} from '../test/fixtures/manifests.ts';
import { runProcess } from '../test/fixtures/process.ts';
import { STRAIT } from '../test/fixtures/strait-cli.ts';
import { APP, CLIENT } from '../test/integration/failover/harness.ts';

/** The clients' request timeout: every request started before a round's end has its answer by then. */
const CLIENT_TIMEOUT_MS = 5000;
const CLIENT_CONCURRENCY = 4;
const CLIENT_INTERVAL_MS = 20;

const manifests = joinManifests(
  namespaceManifest('shop'),
  serviceManifest({ name: 'web', namespace: 'shop', ports: [{ port: 8080 }] }),
  serviceManifest({ name: 'web-backup', namespace: 'shop', ports: [{ port: 8080 }] }),
  failoverSplitManifest({
    namespace: 'shop',
    primary: 'web',
    secondary: 'web-backup',
    controlledBy: 'strait-failover',
    settings: { 'hold-down': '0s', 'ramp-steps': '100' },
  }),
);

type Answers = [number, string][];

/** How the primary goes: `stop` drains it (SIGTERM to `strait local run`), `kill` SIGKILLs its application. */
export type StopMode = 'stop' | 'kill';

export interface TrafficRound {
  mode: StopMode;
  /** Requests that failed, started from 1 s before the stop until the clients' timeout after the switch. */
  failedGet: number;
  failedPost: number;
  /** Requests answered in that time. */
  answeredGet: number;
  answeredPost: number;
  /** From sending the stop to the operator's weights being seen on the split (a 50 ms poll). */
  weightsMovedMs: number;
}

/**
 * Takes the primary away once per entry of `rounds` under steady traffic on the local cluster
 * `cluster` (already up, with its control plane's failover operator) and reports what the
 * clients saw each time.
 */
export async function measureSwitchUnderTraffic(
  env: NodeJS.ProcessEnv,
  cluster: string,
  store: ResourceStore,
  rounds: StopMode[],
): Promise<TrafficRound[]> {
  const children: ChildProcess[] = [];
  const run = (name: string, port: number, command: string[], readyPath?: string) => {
    const child = spawn(
      process.execPath,
      [STRAIT, ...localRunArgs({ cluster, namespace: 'shop', name, port, readyPath }, command)],
      { env, stdio: 'ignore' },
    );
    children.push(child);
    return child;
  };
  const workloadAddress = async (name: string): Promise<string> =>
    poll(`workload ${name} ready`, async () => {
      const workload = await store.get<Workload>({ ...Kinds.Workload, namespace: 'shop', name });
      return workload?.status?.ready ? workload.status.address : undefined;
    });
  const split = () => store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace: 'shop', name: 'web' });
  const weightOf = async (service: string) =>
    (await split())?.spec?.backends.find((b) => b.service === service)?.weight;
  const answers = async (stats: string, since: number): Promise<Answers> =>
    (await (await fetch(`${stats}?since=${since}`)).json()) as Answers;

  try {
    const apply = await runProcess(
      process.execPath,
      [STRAIT, 'local', 'apply', '--context', cluster, '-f', '-'],
      {
        env,
        input: manifests,
      },
    );
    if (apply.code !== 0) throw new Error(`strait local apply exited with ${apply.code}: ${apply.stderr}`);
    const app = (answer: string) => ['env', `ANSWER=${answer}`, process.execPath, APP];
    let primary = run('web', 8080, app('primary'), '/ready');
    run('web-backup', 8080, app('secondary'), '/ready');
    const client = (method: string) => [
      ...[
        'env',
        `METHOD=${method}`,
        `CONCURRENCY=${CLIENT_CONCURRENCY}`,
        `INTERVAL_MS=${CLIENT_INTERVAL_MS}`,
      ],
      ...[process.execPath, CLIENT],
    ];
    run('get-client', 9000, client('GET'));
    run('post-client', 9000, client('POST'));
    await Promise.all(['web', 'web-backup'].map(workloadAddress));
    const stats = await Promise.all(
      ['get-client', 'post-client'].map(async (name) => `http://${await workloadAddress(name)}:9000/stats`),
    );

    const results: TrafficRound[] = [];
    for (const mode of rounds) {
      const ready = Date.now();
      for (const url of stats) {
        await poll('clients answered by the primary', async () =>
          (await answers(url, ready)).some(([, answer]) => answer === 'primary') ? true : undefined,
        );
      }
      const pid = (await store.get<Workload>({ ...Kinds.Workload, namespace: 'shop', name: 'web' }))?.status
        ?.pid;
      const stoppedAt = Date.now();
      if (mode === 'stop') primary.kill('SIGTERM');
      else process.kill(pid as number, 'SIGKILL');
      await poll('weights on the secondary', async () =>
        (await weightOf('web-backup')) === 100 ? true : undefined,
      );
      const weightsMovedMs = Date.now() - stoppedAt;
      await once(primary, 'exit');
      const settled = Date.now();
      await new Promise((resolve) => setTimeout(resolve, CLIENT_TIMEOUT_MS + 1000));
      const [get, post] = (await Promise.all(stats.map((url) => answers(url, stoppedAt - 1000)))).map(
        (seen) => seen.filter(([at]) => at <= settled),
      ) as [Answers, Answers];
      const failed = (seen: Answers) => seen.filter(([, answer]) => answer.startsWith('error:')).length;
      results.push({
        mode,
        failedGet: failed(get),
        failedPost: failed(post),
        answeredGet: get.length,
        answeredPost: post.length,
        weightsMovedMs,
      });
      primary = run('web', 8080, app('primary'), '/ready');
      await workloadAddress('web');
      await poll('weights back on the primary', async () =>
        (await weightOf('web')) === 100 ? true : undefined,
      );
    }
    return results;
  } finally {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

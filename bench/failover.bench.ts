// Failover benchmark.
//  1. switch time: from the write that leaves the primary without a ready endpoint to the
//     TrafficSplit's weights moving to the secondary, over many failovers, measured
//     (a) in process: the operator on the local store in memory, among many managed splits;
//     (b) across processes: a local cluster's control plane, the operator as its own process,
//         and this process writing and watching through the cluster's store API (HTTP/2 + TLS);
//  2. the failback timeline: hold-down, then each ramp step, after the primary recovers;
//  3. the requests lost while traffic moves: real workloads and the control plane's own operator,
//     a GET client (retried by its proxy) and a POST client (not retried), the primary's workload
//     stopped under their load (see failover-traffic.ts).
// Writes bench/results/failover.json. Run: npm run bench:failover
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Endpoints } from '../src/core/api/core.ts';
import type { TrafficSplit } from '../src/core/api/traffic.ts';
import { Kinds } from '../src/core/kinds.ts';
import type { ResourceStore } from '../src/core/store.ts';
import { FailoverController } from '../src/multicluster/failover/index.ts';
import { openClusterStore } from '../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../src/platform/local/home.ts';
import { openLocalStore } from '../src/platform/local/store/index.ts';
import { LocalClusters } from '../test/fixtures/local-clusters.ts';
import { measureSwitchUnderTraffic, type StopMode, type TrafficRound } from './failover-traffic.ts';
import { nearestRank } from './percentile.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 200);
const PROCESS_ROUNDS = Number(process.env.PROCESS_ROUNDS ?? 100);
const OTHER_SPLITS = Number(process.env.OTHER_SPLITS ?? 500);
const TRAFFIC_ROUNDS = Number(process.env.TRAFFIC_ROUNDS ?? 5);
const ns = 'bench';

const endpoints = (name: string, ready: boolean, rv?: string): Endpoints => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name, namespace: ns, ...(rv ? { resourceVersion: rv } : {}) },
  subsets: [{ [ready ? 'addresses' : 'notReadyAddresses']: [{ ip: '127.0.0.9' }], ports: [{ port: 80 }] }],
});
const split = (name: string, annotations: Record<string, string>): TrafficSplit => ({
  apiVersion: 'split.smi-spec.io/v1alpha2',
  kind: 'TrafficSplit',
  metadata: { name, namespace: ns, labels: { 'failover.strait.io/controlled-by': 'bench' }, annotations },
  spec: {
    service: name,
    backends: [
      { service: name, weight: 1 },
      { service: `${name}-east`, weight: 0 },
    ],
  },
});
/** Linkerd-style immediate failback, so that every round starts from Primary. */
const immediate = { 'failover.strait.io/hold-down': '0s', 'failover.strait.io/ramp-steps': '100' };

async function createSplit(store: ResourceStore, name: string, annotations: Record<string, string>) {
  await store.create(endpoints(name, true));
  await store.create(endpoints(`${name}-east`, true));
  await store.create(split(name, annotations));
}

async function setReady(store: ResourceStore, name: string, ready: boolean): Promise<number> {
  const current = await store.get<Endpoints>({ ...Kinds.Endpoints, namespace: ns, name });
  await store.update(endpoints(name, ready, current?.metadata.resourceVersion));
  return performance.now();
}

/** Runs `act` and resolves with the time from its write to the split's `service` weighing `weight`. */
async function timeToWeight(
  store: ResourceStore,
  splitName: string,
  service: string,
  weight: number,
  act: () => Promise<number>,
): Promise<number> {
  const abort = new AbortController();
  const list = await store.list<TrafficSplit>(Kinds.TrafficSplit, { namespace: ns });
  const seen = (async () => {
    for await (const event of store.watch<TrafficSplit>(Kinds.TrafficSplit, {
      namespace: ns,
      resourceVersion: list.resourceVersion,
      signal: abort.signal,
    })) {
      if (event.object.metadata.name !== splitName) continue;
      if (event.object.spec?.backends.find((b) => b.service === service)?.weight === weight)
        return performance.now();
    }
    throw new Error('watch ended');
  })();
  const start = await act();
  const end = await seen;
  abort.abort();
  return end - start;
}

async function switchRounds(store: ResourceStore, splitName: string, rounds: number) {
  const switchMs: number[] = [];
  const backMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    switchMs.push(
      await timeToWeight(store, splitName, `${splitName}-east`, 100, () => setReady(store, splitName, false)),
    );
    backMs.push(await timeToWeight(store, splitName, splitName, 100, () => setReady(store, splitName, true)));
  }
  return { switchMs, backMs };
}

async function failbackTimeline(store: ResourceStore, holdDownMs: number, stepMs: number) {
  await createSplit(store, 'api', {
    'failover.strait.io/hold-down': `${holdDownMs}ms`,
    'failover.strait.io/ramp-steps': '10,25,50,100',
    'failover.strait.io/ramp-step-interval': `${stepMs}ms`,
  });
  while (
    (await store.get<TrafficSplit>({ ...Kinds.TrafficSplit, namespace: ns, name: 'api' }))?.status
      ?.failover === undefined
  ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await timeToWeight(store, 'api', 'api-east', 100, () => setReady(store, 'api', false));
  const events: { atMs: number; weights: Record<string, number>; state: string | undefined }[] = [];
  const abort = new AbortController();
  const list = await store.list<TrafficSplit>(Kinds.TrafficSplit, { namespace: ns });
  const recoveredAt = await setReady(store, 'api', true);
  for await (const event of store.watch<TrafficSplit>(Kinds.TrafficSplit, {
    namespace: ns,
    resourceVersion: list.resourceVersion,
    signal: abort.signal,
  })) {
    if (event.object.metadata.name !== 'api') continue;
    const weights = Object.fromEntries((event.object.spec?.backends ?? []).map((b) => [b.service, b.weight]));
    const state = event.object.status?.failover?.state;
    const last = events.at(-1);
    if (last && JSON.stringify(last.weights) === JSON.stringify(weights) && last.state === state) continue;
    events.push({ atMs: round2(performance.now() - recoveredAt), weights, state });
    if (weights.api === 100 && state === 'Primary') break;
  }
  abort.abort();
  return { holdDownMs, rampStepIntervalMs: stepMs, rampSteps: [10, 25, 50, 100], events };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const percentile = (values: number[], p: number) =>
  nearestRank(
    [...values].sort((a, b) => a - b),
    p,
  );
function trafficSummary(rounds: TrafficRound[], how: string) {
  const total = (pick: (r: TrafficRound) => number) => rounds.reduce((sum, r) => sum + pick(r), 0);
  return {
    how,
    rounds: rounds.length,
    withRetries: {
      failed: total((r) => r.failedGet),
      answered: total((r) => r.answeredGet),
      perRound: rounds.map((r) => r.failedGet),
    },
    withoutRetries: {
      failed: total((r) => r.failedPost),
      answered: total((r) => r.answeredPost),
      perRound: rounds.map((r) => r.failedPost),
    },
    weightsMovedMs: summary(rounds.map((r) => r.weightsMovedMs)),
  };
}
const summary = (values: number[]) => ({
  samples: values.length,
  p50Ms: round2(percentile(values, 50)),
  p99Ms: round2(percentile(values, 99)),
  maxMs: round2(Math.max(...values)),
});

// (a) In process.
const memory = await openLocalStore({});
await memory.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
for (let i = 0; i < OTHER_SPLITS; i++) await createSplit(memory, `other${i}`, {});
await createSplit(memory, 'web', immediate);
const controller = new FailoverController({ store: memory });
await controller.start();
// The operator's timers do not hold the process open, and an in-memory store has no sockets.
const keepAlive = setInterval(() => {}, 1000);
const inProcess = await switchRounds(memory, 'web', ROUNDS);
const timeline = await failbackTimeline(memory, 1000, 500);
await controller.stop();
await memory.close();

// (b) Across processes.
const operatorEntry = fileURLToPath(new URL('../src/cmd/failover.ts', import.meta.url));
const clusters = new LocalClusters('strait-failover-bench-');
await clusters.up(['bench']);
const env = { ...process.env, STRAIT_HOME: clusters.home };
let operator: ChildProcess | undefined;
let acrossProcesses: { switchMs: number[]; backMs: number[] };
let traffic: TrafficRound[];
const api = openClusterStore(clusterDirectory(clusters.home, 'bench'));
try {
  await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await createSplit(api, 'web', immediate);
  // Its own name: the cluster's control plane runs an operator too, for the default name only.
  operator = spawn(process.execPath, [operatorEntry, '--context', 'bench', '--name', 'bench'], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await once(operator.stdout as NodeJS.ReadableStream, 'data');
  acrossProcesses = await switchRounds(api, 'web', PROCESS_ROUNDS);
  operator.kill('SIGTERM');
  await once(operator, 'exit');
  const modes: StopMode[] = ['stop', 'kill'];
  traffic = await measureSwitchUnderTraffic(
    env,
    'bench',
    api,
    Array.from({ length: 2 * TRAFFIC_ROUNDS }, (_, i) => modes[i % 2] as StopMode),
  );
} finally {
  if (operator && operator.exitCode === null && operator.signalCode === null) {
    operator.kill('SIGTERM');
    await once(operator, 'exit');
  }
  api.close();
  await clusters.down();
  clearInterval(keepAlive);
}

const result = {
  benchmark: 'failover',
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    node: process.versions.node,
    note: 'shared with other work while measured',
  },
  measuredFrom: 'the acknowledged Endpoints write that leaves the primary without a ready address',
  measuredTo: 'the TrafficSplit watch event carrying the new weights',
  inProcess: {
    setup: `local store in memory, operator in the same process, ${OTHER_SPLITS + 1} managed splits`,
    switchToSecondary: summary(inProcess.switchMs),
    immediateFailback: summary(inProcess.backMs),
  },
  acrossProcesses: {
    setup:
      'local cluster control plane + operator process (`node src/cmd/failover.ts`); writes and watch through the store API',
    switchToSecondary: summary(acrossProcesses.switchMs),
    immediateFailback: summary(acrossProcesses.backMs),
  },
  goal: {
    switchP99Ms: 1000,
    met: percentile(acrossProcesses.switchMs, 99) <= 1000 && percentile(inProcess.switchMs, 99) <= 1000,
  },
  failbackTimeline: timeline,
  failedRequestsDuringSwitch: {
    setup:
      'local cluster: workloads web (primary) and web-backup with proxies, the control plane’s failover operator (hold-down 0s), two clients through their proxies calling the apex every 20 ms with at most 4 requests open; rounds alternate between stopping web’s workload and killing its application, then restart it',
    counted:
      'requests started from 1 s before the stop until the workload had exited, answered or failed within the clients’ 5 s timeout',
    clients: {
      withRetries: 'GET (idempotent: retried once by the caller’s proxy, on another endpoint)',
      withoutRetries: 'POST (not retried once it may have reached the server)',
    },
    stopped: trafficSummary(
      traffic.filter((r) => r.mode === 'stop'),
      'SIGTERM to `strait local run`: the workload drains (not ready, then its application stops a second later)',
    ),
    killed: trafficSummary(
      traffic.filter((r) => r.mode === 'kill'),
      'SIGKILL to the application: requests reach it until its workload is unregistered',
    ),
  },
  notes: [
    'switchToSecondary covers the operator (store event → decision → weight write). failedRequestsDuringSwitch covers the whole path: proxies retry a GET on another endpoint (the secondary’s, of weight 0, included) before the weights move, so the count does not depend on the operator’s speed.',
  ],
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/failover.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  `${JSON.stringify({ inProcess: result.inProcess, acrossProcesses: result.acrossProcesses }, null, 2)}\n`,
);

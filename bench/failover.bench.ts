// Failover benchmark: the operator against the real local store (in memory).
//  1. switch: time from the primary's last endpoint going not ready to the TrafficSplit's
//     weights moving to the secondary, over many failovers, with other managed splits around;
//  2. failback: the timeline of the ramp after the primary recovers.
// Writes bench/results/failover.json. Run: npm run bench:failover
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Endpoints } from '../src/core/api/core.ts';
import type { TrafficSplit } from '../src/core/api/traffic.ts';
import { Kinds } from '../src/core/kinds.ts';
import type { Resource } from '../src/core/resource.ts';
import { FailoverController } from '../src/multicluster/failover/index.ts';
import { openLocalStore } from '../src/platform/local/store/index.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 200);
const OTHER_SPLITS = Number(process.env.OTHER_SPLITS ?? 500);
const ns = 'bench';

const store = await openLocalStore({});
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

await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
for (let i = 0; i < OTHER_SPLITS; i++) {
  await store.create(endpoints(`other${i}`, true));
  await store.create(endpoints(`other${i}-east`, true));
  await store.create(split(`other${i}`, {}));
}
await store.create(endpoints('web', true));
await store.create(endpoints('web-east', true));
// Linkerd-style immediate failback for the switch rounds, so each round starts from Primary.
await store.create(
  split('web', { 'failover.strait.io/hold-down': '0s', 'failover.strait.io/ramp-steps': '100' }),
);

const controller = new FailoverController({ store });
await controller.start();
// The operator's timers do not hold the process open; an in-memory store has no sockets that would.
const keepAlive = setInterval(() => {}, 1000);

/** Resolves with the time the weight of `splitName` on `service` first equals `weight`. */
async function weightSeen(
  splitName: string,
  service: string,
  weight: number,
  signal: AbortSignal,
): Promise<number> {
  const list = await store.list<TrafficSplit>(Kinds.TrafficSplit, { namespace: ns });
  const current = list.items.find((s) => s.metadata.name === splitName);
  if (current?.spec?.backends.find((b) => b.service === service)?.weight === weight) return performance.now();
  for await (const event of store.watch<TrafficSplit>(Kinds.TrafficSplit, {
    namespace: ns,
    resourceVersion: list.resourceVersion,
    signal,
  })) {
    if (event.object.metadata.name !== splitName) continue;
    if (event.object.spec?.backends.find((b) => b.service === service)?.weight === weight)
      return performance.now();
  }
  throw new Error('watch ended');
}

async function setReady(name: string, ready: boolean): Promise<number> {
  const current = (await store.get<Endpoints>({ ...Kinds.Endpoints, namespace: ns, name })) as Resource;
  await store.update(endpoints(name, ready, current.metadata.resourceVersion));
  return performance.now();
}

async function measure(
  splitName: string,
  service: string,
  weight: number,
  act: () => Promise<number>,
): Promise<number> {
  const abort = new AbortController();
  const seen = weightSeen(splitName, service, weight, abort.signal);
  await new Promise((resolve) => setImmediate(resolve));
  const start = await act();
  const end = await seen;
  abort.abort();
  return end - start;
}

const switchMs: number[] = [];
const backMs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  switchMs.push(await measure('web', 'web-east', 100, () => setReady('web', false)));
  backMs.push(await measure('web', 'web', 100, () => setReady('web', true)));
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};
const summary = (values: number[]) => ({
  samples: values.length,
  p50Ms: round2(percentile(values, 50)),
  p99Ms: round2(percentile(values, 99)),
  maxMs: round2(Math.max(...values)),
});
const round2 = (n: number) => Math.round(n * 100) / 100;

// Failback timeline with a held-down, ramped failback, on a split that has not flapped yet
// (the switch rounds above flap "web" so often that damping holds it down for the maximum).
const holdDownMs = 1000;
const stepMs = 500;
await store.create(endpoints('api', true));
await store.create(endpoints('api-east', true));
await store.create(
  split('api', {
    'failover.strait.io/hold-down': `${holdDownMs}ms`,
    'failover.strait.io/ramp-steps': '10,25,50,100',
    'failover.strait.io/ramp-step-interval': `${stepMs}ms`,
  }),
);
await measure('api', 'api-east', 100, () => setReady('api', false));
const timeline: { atMs: number; weights: Record<string, number>; state: string | undefined }[] = [];
const abort = new AbortController();
const list = await store.list<TrafficSplit>(Kinds.TrafficSplit, { namespace: ns });
const recoveredAt = await setReady('api', true);
for await (const event of store.watch<TrafficSplit>(Kinds.TrafficSplit, {
  namespace: ns,
  resourceVersion: list.resourceVersion,
  signal: abort.signal,
})) {
  if (event.object.metadata.name !== 'api') continue;
  const weights = Object.fromEntries((event.object.spec?.backends ?? []).map((b) => [b.service, b.weight]));
  const last = timeline.at(-1);
  const state = event.object.status?.failover?.state;
  if (last && JSON.stringify(last.weights) === JSON.stringify(weights) && last.state === state) continue;
  timeline.push({ atMs: round2(performance.now() - recoveredAt), weights, state });
  if (weights.api === 100 && state === 'Primary') break;
}
abort.abort();
clearInterval(keepAlive);
await controller.stop();
await store.close();

const result = {
  benchmark: 'failover',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, node: process.versions.node },
  setup: {
    store: 'local store, in memory, same process',
    managedSplits: OTHER_SPLITS + 1,
    rounds: ROUNDS,
    measuredFrom: 'the Endpoints update that removes the primary’s last ready address',
    measuredTo: 'the TrafficSplit watch event carrying the new weights',
  },
  switchToSecondary: summary(switchMs),
  immediateFailback: summary(backMs),
  goal: { switchP99Ms: 1000, met: percentile(switchMs, 99) <= 1000 },
  failbackTimeline: {
    holdDownMs,
    rampStepIntervalMs: stepMs,
    rampSteps: [10, 25, 50, 100],
    events: timeline,
  },
  notes: [
    'Covers the operator only (store event → decision → weight write). Proxies follow weight edits through the destination service; that hop and the failed-request count need the multi-process scenario.',
  ],
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/failover.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify({ switch: result.switchToSecondary, timeline }, null, 2)}\n`);

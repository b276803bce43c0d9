// Destination fan-out benchmark: 10,000 services with 30,000 meshed endpoints
// in one cluster, 1,000 Get streams over mTLS. The control plane (local store
// in memory + destination service) runs in a child process so its memory is
// measured alone; this process holds the streams. Latency is from asking the
// control plane to change an endpoint to the last affected stream seeing it.
// Run: npm run bench:destination [-- --services N --streams N --rounds N --durable]
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { startDestinationService } from '../src/control-plane/destination/start.ts';
import { DestinationService } from '../src/gen/strait/destination/v1/destination_pb.js';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../src/pki/index.ts';
import { CONTROL_PLANE_NODE_ARGS, controlPlaneEnv } from '../src/platform/local/control-plane-process.ts';
import { openLocalStore } from '../src/platform/local/store/index.ts';
import { nearestRank } from './percentile.ts';

const { values } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    // Keep the store on disk (write-ahead log and snapshots), as a cluster's control plane does.
    durable: { type: 'boolean', default: false },
    services: { type: 'string', default: '10000' },
    'endpoints-per-service': { type: 'string', default: '3' },
    streams: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '200' },
    // Node flags of the control-plane child; by default those `strait local up` gives the control plane.
    'node-args': { type: 'string', default: CONTROL_PLANE_NODE_ARGS.join(' ') },
    out: { type: 'string', default: new URL('./results/destination.json', import.meta.url).pathname },
  },
});
const SERVICES = Number(values.services);
const PER_SERVICE = Number(values['endpoints-per-service']);
const NAMESPACES = 100;
const NODE_ARGS = (values['node-args'] as string).split(' ').filter((a) => a !== '');

interface Memory {
  rssBytes: number;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

function memoryNow(): Memory {
  globalThis.gc?.();
  const memory = process.memoryUsage();
  return {
    rssBytes: memory.rss,
    heapTotalBytes: memory.heapTotal,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external,
  };
}

type ToChild = { type: 'flip'; service: number; round: number } | { type: 'memory' } | { type: 'stop' };
type FromChild =
  | {
      type: 'ready';
      port: number;
      ca: string;
      serverIdentity: string;
      cert: string;
      key: string;
      loadMs: number;
      storeOnly: Memory;
    }
  | ({ type: 'memory' } & Memory)
  | { type: 'flipped' };

const nsOf = (i: number) => `ns-${i % NAMESPACES}`;
const ipOf = (service: number, endpoint: number) => {
  const n = service * PER_SERVICE + endpoint;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

function endpointsObject(service: number, readyCount: number) {
  const address = (e: number) => ({
    ip: ipOf(service, e),
    targetRef: { kind: 'Workload', name: `svc-${service}-${e}`, namespace: nsOf(service) },
  });
  const all = Array.from({ length: PER_SERVICE }, (_, e) => e);
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: `svc-${service}`, namespace: nsOf(service) },
    subsets: [
      {
        addresses: all.slice(0, readyCount).map(address),
        notReadyAddresses: all.slice(readyCount).map(address),
        ports: [{ name: 'http', port: 8080 }],
      },
    ],
  };
}

async function child(): Promise<void> {
  const send = (message: FromChild) => process.send?.(message);
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor });
  const serverIdentity = 'strait-destination.strait.serviceaccount.identity.strait.cluster.local';
  const server = issueWorkloadCertificate({ issuer, identity: serverIdentity });
  const client = issueWorkloadCertificate({
    issuer,
    identity: 'bench.default.serviceaccount.identity.strait.cluster.local',
  });
  const dir = values.durable ? mkdtempSync(join(tmpdir(), 'strait-bench-store-')) : undefined;
  const store = await openLocalStore(dir === undefined ? {} : { dir });
  const started = performance.now();
  for (let s = 0; s < SERVICES; s++) {
    const namespace = nsOf(s);
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${s}`, namespace },
      spec: { selector: { app: `svc-${s}` }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    for (let e = 0; e < PER_SERVICE; e++) {
      await store.create({
        apiVersion: 'local.strait.io/v1alpha1',
        kind: 'Workload',
        metadata: { name: `svc-${s}-${e}`, namespace, labels: { app: `svc-${s}` } },
        spec: {
          serviceAccountName: `sa-${s}`,
          ports: [{ name: 'http', port: 8080 }],
          address: ipOf(s, e),
          proxy: { inboundPort: 4143, outboundPort: 4140, adminPort: 4191 },
        },
      });
    }
    await store.create(endpointsObject(s, PER_SERVICE));
  }
  const storeOnly = memoryNow();
  const destination = await startDestinationService({
    store,
    tls: { cert: server.chainPem, key: server.keyPem, ca: anchor.certPem },
    port: 0,
  });
  const ready = new Map<number, number>();
  send({
    type: 'ready',
    port: destination.port,
    ca: anchor.certPem,
    serverIdentity,
    cert: client.chainPem,
    key: client.keyPem,
    loadMs: performance.now() - started,
    storeOnly,
  });
  process.on('message', async (message: ToChild) => {
    if (message.type === 'flip') {
      // Alternate the last endpoint between ready and not ready.
      const count =
        (ready.get(message.service) ?? PER_SERVICE) === PER_SERVICE ? PER_SERVICE - 1 : PER_SERVICE;
      ready.set(message.service, count);
      const current = await store.get({
        apiVersion: 'v1',
        kind: 'Endpoints',
        namespace: nsOf(message.service),
        name: `svc-${message.service}`,
      });
      await store.update({ ...endpointsObject(message.service, count), metadata: current!.metadata });
      send({ type: 'flipped' });
    } else if (message.type === 'memory') {
      send({ type: 'memory', ...memoryNow() });
    } else {
      await destination.close();
      await store.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    samples: sorted.length,
    p50Ms: round(nearestRank(sorted, 50)),
    p90Ms: round(nearestRank(sorted, 90)),
    p99Ms: round(nearestRank(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
  };
}

async function main(): Promise<void> {
  const proc = fork(new URL(import.meta.url).pathname, ['--child', ...process.argv.slice(2)], {
    execArgv: ['--expose-gc', ...NODE_ARGS],
    env: controlPlaneEnv(process.env),
  });
  const inbox: FromChild[] = [];
  let wake: (() => void) | undefined;
  proc.on('message', (message: FromChild) => {
    inbox.push(message);
    wake?.();
  });
  const receive = async <T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> => {
    for (;;) {
      const index = inbox.findIndex((m) => m.type === type);
      if (index !== -1) return inbox.splice(index, 1)[0] as Extract<FromChild, { type: T }>;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };
  const ready = await receive('ready');
  log(`control plane ready in ${Math.round(ready.loadMs)} ms`);
  const streams = Number(values.streams);
  const connections = Number(values.connections);
  const clients = Array.from({ length: connections }, () =>
    createClient(
      DestinationService,
      createGrpcTransport({
        baseUrl: `https://127.0.0.1:${ready.port}`,
        nodeOptions: {
          ca: ready.ca,
          servername: ready.serverIdentity,
          cert: ready.cert,
          key: ready.key,
          minVersion: 'TLSv1.3',
        },
      }),
    ),
  );
  const abort = new AbortController();
  // Half the streams spread over distinct services, half on ten hot services (50 streams each).
  const hot = Array.from({ length: 10 }, (_, i) => i);
  const targets = Array.from({ length: streams }, (_, i) =>
    i % 2 === 0 ? hot[(i / 2) % hot.length]! : 10 + i,
  );
  const waiting = new Map<number, Set<number>>();
  let onUpdate: ((stream: number) => void) | undefined;
  let snapshots = 0;
  let snapshotsDone: () => void = () => {};
  const allSnapshots = new Promise<void>((resolve) => {
    snapshotsDone = resolve;
  });
  targets.forEach((service, stream) => {
    const client = clients[stream % connections]!;
    void (async () => {
      let first = true;
      for await (const _ of client.get(
        { path: `svc-${service}.${nsOf(service)}.svc.cluster.local:80` },
        { signal: abort.signal },
      )) {
        if (first) {
          first = false;
          if (++snapshots === streams) snapshotsDone();
        } else onUpdate?.(stream);
      }
    })().catch(() => {});
  });
  await allSnapshots;
  log(`${streams} streams have their snapshots`);
  for (const [stream, service] of targets.entries()) {
    const set = waiting.get(service) ?? new Set<number>();
    set.add(stream);
    waiting.set(service, set);
  }
  proc.send({ type: 'memory' } satisfies ToChild);
  const memory = await receive('memory');

  async function measure(service: number, round: number): Promise<number> {
    const pending = new Set(waiting.get(service));
    if (pending.size === 0) throw new Error(`no stream watches svc-${service}`);
    const started = performance.now();
    const done = new Promise<void>((resolve) => {
      onUpdate = (stream) => {
        pending.delete(stream);
        if (pending.size === 0) resolve();
      };
    });
    proc.send({ type: 'flip', service, round } satisfies ToChild);
    await done;
    const elapsed = performance.now() - started;
    await receive('flipped');
    return elapsed;
  }

  const rounds = Number(values.rounds);
  const spread: number[] = [];
  const fanout: number[] = [];
  const spreadServices = targets.filter((t) => t >= 10);
  for (let round = 0; round < rounds; round++) {
    spread.push(await measure(spreadServices[(round * 7919) % spreadServices.length]!, round));
    fanout.push(await measure(hot[round % hot.length]!, round));
  }
  proc.send({ type: 'memory' } satisfies ToChild);
  const memoryAfter = await receive('memory');
  const all = [...spread, ...fanout];
  const result = {
    benchmark: 'destination',
    date: new Date().toISOString(),
    node: process.version,
    nodeArgs: NODE_ARGS,
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
    setup: {
      services: SERVICES,
      endpoints: SERVICES * PER_SERVICE,
      workloads: SERVICES * PER_SERVICE,
      namespaces: NAMESPACES,
      streams,
      clientConnections: connections,
      hotServices: hot.length,
      streamsPerHotService: streams / 2 / hot.length,
      loadSeconds: Math.round(ready.loadMs / 10) / 100,
    },
    controlPlaneMemory: {
      note: `one process: local store ${values.durable ? 'on disk' : 'in memory'} + destination service, after GC`,
      rssMB: Math.round(memory.rssBytes / 1048576),
      heapTotalMB: Math.round(memory.heapTotalBytes / 1048576),
      heapUsedMB: Math.round(memory.heapUsedBytes / 1048576),
      externalMB: Math.round(memory.externalBytes / 1048576),
      storeAloneRssMB: Math.round(ready.storeOnly.rssBytes / 1048576),
      storeAloneHeapUsedMB: Math.round(ready.storeOnly.heapUsedBytes / 1048576),
      destinationAndStreamsHeapMB: Math.round(
        (memory.heapUsedBytes - ready.storeOnly.heapUsedBytes) / 1048576,
      ),
      rssAfterRoundsMB: Math.round(memoryAfter.rssBytes / 1048576),
      heapTotalAfterRoundsMB: Math.round(memoryAfter.heapTotalBytes / 1048576),
      heapUsedAfterRoundsMB: Math.round(memoryAfter.heapUsedBytes / 1048576),
      goalMB: 300,
    },
    changeToLastSubscriber: {
      note: 'from the request to flip one endpoint to the last affected stream receiving its update',
      all: summary(all),
      serviceWithOneStream: summary(spread),
      hotServiceWithManyStreams: summary(fanout),
      goalP99Ms: 1000,
    },
  };
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  abort.abort();
  proc.send({ type: 'stop' } satisfies ToChild);
}

if (values.child) await child();
else await main();

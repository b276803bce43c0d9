// Multi-cluster benchmark.
//  1. propagation: one exported service at a time on the target (east), time until its mirror
//     is visible on the source (west) — watched, not polled. (a) Two local stores in memory, one
//     LinkManager; (b) two local clusters as processes, west's control plane running the service
//     mirror as it always does, every read and write through the clusters' store APIs (HTTP/2 +
//     TLS); the mirror's own propagation histogram is read from its metrics (ports.mirrorAdmin).
//  2. scale: 10,000 exported services (with endpoints) already on the target when the
//     controller starts; time until every mirror and its Endpoints exist on the source.
//  3. gateway hop: request/response over persistent mTLS connections at a fixed rate, straight
//     to the backend's proxy and through the gateway; the p50/p99 difference is the hop.
// Writes bench/results/multicluster.json. Run: node bench/multicluster.bench.ts [--services N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Namespace, Secret, Service } from '../src/core/api/core.ts';
import type { Link } from '../src/core/api/multicluster.ts';
import type { ResourceStore } from '../src/core/store.ts';
import { gatewayAuthorization } from '../src/multicluster/gateway/authorization.ts';
import { createGateway } from '../src/multicluster/gateway/gateway.ts';
import { LinkManager } from '../src/multicluster/service-mirror/link-manager.ts';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../src/pki/index.ts';
import { mirrorAdminAddress, readClusterConfig } from '../src/platform/local/cluster-config.ts';
import { openClusterStore } from '../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../src/platform/local/home.ts';
import { openLocalStore } from '../src/platform/local/store/index.ts';
import { StaticResolver } from '../src/proxy/discovery/static.ts';
import { createInboundTerminator } from '../src/proxy/inbound/terminator.ts';
import { createLogger } from '../src/proxy/log.ts';
import { OutboundClient } from '../src/proxy/outbound/client.ts';
import { connectMeshed } from '../src/proxy/transport/connect.ts';
import { Credentials } from '../src/proxy/transport/credentials.ts';
import { encodeTransportHeader } from '../src/proxy/transport/header.ts';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '300' },
    'process-samples': { type: 'string', default: '100' },
    services: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    out: { type: 'string', default: new URL('./results/multicluster.json', import.meta.url).pathname },
  },
});

const SERVICE = { apiVersion: 'v1', kind: 'Service' } as const;
const STRAIT = fileURLToPath(new URL('../src/cmd/strait.ts', import.meta.url));
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    count: sorted.length,
    p50: round(quantile(sorted, 0.5)),
    p90: round(quantile(sorted, 0.9)),
    p99: round(quantile(sorted, 0.99)),
    max: round(sorted.at(-1) ?? NaN),
  };
};

const ns = (name: string): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const exported = (name: string, namespace: string): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace, labels: { app: name, 'mirror.strait.io/exported': 'true' } },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080 }] },
});

async function linkedClusters(): Promise<{ west: ResourceStore; east: ResourceStore; manager: LinkManager }> {
  const west = await openLocalStore({ historySize: 100_000 });
  const east = await openLocalStore({ historySize: 100_000 });
  for (const name of ['strait-multicluster', 'shop']) await west.create(ns(name));
  await east.create(ns('shop'));
  const secret: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'mirror.strait.io/remote-kubeconfig',
    metadata: { name: 'cluster-credentials-east', namespace: 'strait-multicluster' },
    data: { kubeconfig: '' },
  };
  await west.create(secret);
  const link: Link = {
    apiVersion: 'multicluster.strait.io/v1alpha1',
    kind: 'Link',
    metadata: { name: 'east', namespace: 'strait-multicluster' },
    spec: {
      targetClusterName: 'east',
      targetClusterDomain: 'cluster.local',
      clusterCredentialsSecret: 'cluster-credentials-east',
      gatewayAddress: '127.0.0.1',
      gatewayPort: 4143,
      gatewayIdentity: 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local',
      probeSpec: { path: '/ready', port: 4191, period: '3s', timeout: '2s', failureThreshold: 3 },
    },
  };
  await west.create(link);
  const manager = new LinkManager({
    local: west,
    namespace: 'strait-multicluster',
    remoteStore: () => east,
    probe: false,
  });
  return { west, east, manager };
}

async function propagation(samples: number) {
  const { west, east, manager } = await linkedClusters();
  manager.start();
  const abort = new AbortController();
  const seen = new Map<string, (at: number) => void>();
  const list = await west.list(SERVICE);
  (async () => {
    for await (const event of west.watch(SERVICE, {
      resourceVersion: list.resourceVersion,
      signal: abort.signal,
    })) {
      if (event.type === 'ADDED') seen.get(event.object.metadata.name)?.(performance.now());
    }
  })().catch(() => {});
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const name = `svc-${i}`;
    const visible = new Promise<number>((resolve) => seen.set(`${name}-east`, resolve));
    const started = performance.now();
    await east.create(exported(name, 'shop'));
    latencies.push((await visible) - started);
    await sleep(2);
  }
  abort.abort();
  await manager.stop();
  return { samples, latencyMs: summary(latencies) };
}

async function scale(services: number) {
  const { west, east, manager } = await linkedClusters();
  for (let i = 0; i < services; i++) {
    await east.create(exported(`svc-${i}`, 'shop'));
    await east.create({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: `svc-${i}`, namespace: 'shop' },
      subsets: [
        {
          addresses: [{ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }],
          ports: [{ name: 'http', port: 8080 }],
        },
      ],
    });
  }
  // Counted from a watch, so that measuring does not load the store.
  const abort = new AbortController();
  const { resourceVersion } = await west.list(
    { apiVersion: 'v1', kind: 'Endpoints' },
    { namespace: 'kube-system' },
  );
  const mirrored = new Set<string>();
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  (async () => {
    for await (const event of west.watch(
      { apiVersion: 'v1', kind: 'Endpoints' },
      { resourceVersion, signal: abort.signal },
    )) {
      if ((event.object.subsets as unknown[] | undefined)?.length) mirrored.add(event.object.metadata.name);
      if (mirrored.size >= services) done();
    }
  })().catch(() => {});
  const started = performance.now();
  manager.start();
  await all;
  abort.abort();
  const seconds = (performance.now() - started) / 1000;
  await manager.stop();
  return { services, secondsToMirrorAll: Math.round(seconds * 100) / 100 };
}

async function gatewayHop(rate: number, seconds: number, connections: number) {
  const id = (sa: string, namespace: string) =>
    `${sa}.${namespace}.serviceaccount.identity.strait.cluster.local`;
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor: { certPem: anchor.certPem, keyPem: anchor.keyPem } });
  const credentials = (identity: string) => {
    const leaf = issueWorkloadCertificate({ issuer, identity });
    return new Credentials({ certChain: leaf.chainPem, key: leaf.keyPem, trustBundle: anchor.certPem });
  };
  const log = createLogger('error');
  const GATEWAY = id('strait-gateway', 'strait-multicluster');
  const BACKEND = id('backend', 'shop');
  const terminator = createInboundTerminator({
    credentials: credentials(BACKEND),
    isTrustedForwarder: (p) => p === GATEWAY,
    log,
  });
  const backend = net.createServer({ allowHalfOpen: true }, async (socket) => {
    socket.on('error', () => {});
    const accepted = await terminator.accept(socket).catch(() => undefined);
    accepted?.stream.pipe(accepted.stream);
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as net.AddressInfo).port;
  const resolver = new StaticResolver({
    'backend.shop.svc.east.local:8080': [
      {
        address: '127.0.0.1',
        port: 8080,
        weight: 1,
        tlsIdentity: BACKEND,
        opaqueTransportPort: backendPort,
        labels: {},
      },
    ],
  });
  const gatewayCredentials = credentials(GATEWAY);
  const gateway = createGateway({
    credentials: gatewayCredentials,
    clusterDomain: 'east.local',
    outbound: new OutboundClient({ resolver, credentials: gatewayCredentials, log, fallbackDirect: false }),
    authorization: gatewayAuthorization(),
    log,
  });
  const { port: gatewayPort } = await gateway.listen({ host: '127.0.0.1', port: 0, adminPort: 0 });
  const client = credentials(id('web', 'shop'));
  const header = encodeTransportHeader({
    name: 'backend.shop.svc.east.local',
    port: 8080,
    protocol: 'opaque',
  });

  const run = async (via: 'direct' | 'gateway') => {
    const sockets = await Promise.all(
      Array.from({ length: connections }, () =>
        via === 'direct'
          ? connectMeshed({
              host: '127.0.0.1',
              port: backendPort,
              identity: BACKEND,
              credentials: client,
              header: encodeTransportHeader({ name: '', port: 8080, protocol: 'opaque' }),
              connectTimeoutMs: 5000,
            })
          : connectMeshed({
              host: '127.0.0.1',
              port: gatewayPort,
              identity: GATEWAY,
              credentials: client,
              header,
              connectTimeoutMs: 5000,
            }),
      ),
    );
    const payload = Buffer.alloc(64, 'x');
    const latencies: number[] = [];
    const busy = new Set<number>();
    let dropped = 0;
    const waiters = sockets.map((socket, index) => {
      let pending: { started: number; received: number } | undefined;
      socket.on('data', (chunk: Buffer) => {
        if (!pending) return;
        pending.received += chunk.length;
        if (pending.received >= payload.length) {
          latencies.push(performance.now() - pending.started);
          pending = undefined;
          busy.delete(index);
        }
      });
      return (started: number) => {
        pending = { started, received: 0 };
        busy.add(index);
        socket.write(payload);
      };
    });
    const total = rate * seconds;
    const interval = 1000 / rate;
    const begin = performance.now();
    for (let i = 0; i < total; i++) {
      const due = begin + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const free = waiters.findIndex((_, n) => !busy.has(n));
      if (free === -1) dropped++;
      else waiters[free]?.(performance.now());
    }
    await sleep(200);
    for (const socket of sockets) socket.destroy();
    return { achievedRate: Math.round(latencies.length / seconds), dropped, latencyMs: summary(latencies) };
  };
  await run('direct'); // warm up both paths
  const direct = await run('direct');
  const viaGateway = await run('gateway');
  await gateway.close();
  backend.close();
  return {
    rate,
    seconds,
    connections,
    payloadBytes: 64,
    direct,
    viaGateway,
    addedByGatewayMs: {
      p50: Math.round((viaGateway.latencyMs.p50 - direct.latencyMs.p50) * 1000) / 1000,
      p99: Math.round((viaGateway.latencyMs.p99 - direct.latencyMs.p99) * 1000) / 1000,
    },
  };
}

/**
 * The same measurement across processes: two local clusters (each its own
 * control plane and store API); west's control plane runs the service mirror,
 * which reads east through a minted credential and writes west through west's API.
 */
async function propagationAcrossProcesses(samples: number) {
  const home = mkdtempSync(join(tmpdir(), 'strait-mc-bench-'));
  const cli = (args: string[]) => {
    const result = spawnSync(process.execPath, [STRAIT, ...args], {
      env: { ...process.env, STRAIT_HOME: home },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`strait ${args.join(' ')}: ${result.stderr}`);
  };
  try {
    for (const cluster of ['west', 'east']) cli(['local', 'up', '--cluster', cluster]);
    cli(['mc', 'install', '--context', 'east']);
    cli(['mc', 'link', '--context', 'west', '--target-context', 'east', '--cluster-name', 'east']);
    const east = openClusterStore(clusterDirectory(home, 'east'));
    const west = openClusterStore(clusterDirectory(home, 'west'));
    await east.create(ns('bench'));
    await west.create(ns('bench'));
    const abort = new AbortController();
    const seen = new Map<string, (at: number) => void>();
    const { resourceVersion } = await west.list(SERVICE, { namespace: 'bench' });
    (async () => {
      for await (const event of west.watch(SERVICE, {
        namespace: 'bench',
        resourceVersion,
        signal: abort.signal,
      })) {
        if (event.type === 'ADDED') seen.get(event.object.metadata.name)?.(performance.now());
      }
    })().catch(() => {});
    // The first mirror also waits for the controller to start; it is not counted.
    const warm = new Promise<number>((resolve) => seen.set('warm-east', resolve));
    await east.create(exported('warm', 'bench'));
    await warm;
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const name = `svc-${i}`;
      const visible = new Promise<number>((resolve) => seen.set(`${name}-east`, resolve));
      const started = performance.now();
      await east.create(exported(name, 'bench'));
      latencies.push((await visible) - started);
      await sleep(5);
    }
    abort.abort();
    east.close();
    west.close();
    const admin = mirrorAdminAddress(readClusterConfig(clusterDirectory(home, 'west')));
    const metrics = await (await fetch(`http://${admin.host}:${admin.port}/metrics`)).text();
    return { samples, latencyMs: summary(latencies), mirrorMetrics: mirrorPropagation(metrics) };
  } finally {
    for (const cluster of ['west', 'east'])
      spawnSync(process.execPath, [STRAIT, 'local', 'down', '--cluster', cluster], {
        env: { ...process.env, STRAIT_HOME: home },
      });
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * The mirror's own view (`mirror_propagation_seconds`: from seeing a change on
 * the target to its mirror written here): count, mean, and the bucket holding p99.
 */
function mirrorPropagation(text: string) {
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
  const count = value(/^mirror_propagation_seconds_count\{target_cluster_name="east"\} (\S+)$/m);
  const sum = value(/^mirror_propagation_seconds_sum\{target_cluster_name="east"\} (\S+)$/m);
  const buckets = [
    ...text.matchAll(
      /^mirror_propagation_seconds_bucket\{target_cluster_name="east",le="([^"]+)"\} (\S+)$/gm,
    ),
  ].map((m) => ({ le: Number(m[1]), count: Number(m[2]) }));
  const p99 = buckets.find((b) => b.count >= 0.99 * count)?.le;
  return {
    count,
    meanMs: Math.round((sum / count) * 1e6) / 1000,
    p99AtMostMs: p99 === undefined ? null : p99 * 1000,
  };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const results = {
  when: new Date().toISOString(),
  node: process.version,
  machine: `${cpus().length} cores shared with other work; load average (1, 5, 15 min) at start ${load()}`,
  goals: { propagationP99Ms: 1000, mirrorAllSeconds: 10 },
  propagation: await propagation(Number(values.samples)),
  propagationAcrossProcesses: await propagationAcrossProcesses(Number(values['process-samples'])),
  scale: await scale(Number(values.services)),
  gatewayHop: await gatewayHop(Number(values.rate), Number(values.seconds), Number(values.connections)),
};
results.machine += `, at the end ${load()}`;
writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
process.exit(0);

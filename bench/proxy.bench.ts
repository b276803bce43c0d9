// Data-plane benchmark: client → proxy → (mTLS) → proxy → server, run side by
// side with HAProxy doing the same two-hop mTLS relay, in one run on one
// machine. Load: wrk (closed loop), h2load (fixed rate, per-request log; its ten connections fire
// together: synchronized bursts) and bench/steady-load.ts (one request every millisecond: the
// steady 1,000 req/s latency figures).
// Figures: HTTP/1.1 capacity and CPU per request, added p50/p99 latency at
// 1,000 req/s, opaque TCP bulk throughput, proxy RSS idle and under load.
// Writes bench/results/proxy.json and prints a summary.
// Run: npm run bench:proxy [-- --seconds 10 --soak-minutes 0 --source --node-args="..."]
// The proxies run as `strait local run` starts them: the compiled build when it is
// up to date (scripts/build-proxy.ts), with PROXY_NODE_ARGS.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../src/pki/index.ts';
import { dataPlaneEntry, dataPlaneEntryFiles, PROXY_NODE_ARGS } from '../src/proxy/launch.ts';
import { freePort } from '../test/fixtures/ports.ts';

const { values } = parseArgs({
  allowNegative: true,
  options: {
    seconds: { type: 'string', default: '10' },
    'soak-minutes': { type: 'string', default: '0' },
    // Latency phases: load generator on CPU 0, everything measured on the others (taskset); --no-pin: shared
    pin: { type: 'boolean', default: true },
    // Goal latency phase with idle CPUs kept from halting (see keepCpusAwake); --no-awake: halting only
    awake: { type: 'boolean', default: true },
    out: { type: 'string', default: new URL('./results/proxy.json', import.meta.url).pathname },
    // Node flags for the Strait proxies instead of the ones `strait local run` uses (PROXY_NODE_ARGS)
    'node-args': { type: 'string' },
    // Run the proxies from the TypeScript source even when an up-to-date compiled build exists
    source: { type: 'boolean', default: false },
  },
});
const NODE_ARGS =
  values['node-args'] === undefined
    ? [...PROXY_NODE_ARGS]
    : (values['node-args'] as string).split(' ').filter((a) => a !== '');
const loadAtStart = loadavg();
const SECONDS = Number(values.seconds);
const dir = mkdtempSync(join(tmpdir(), 'strait-bench-proxy-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// ---- identities -----------------------------------------------------------
const anchor = createAnchor();
const issuer = createIssuer({ anchor });
const identity = (sa: string) => `${sa}.bench.serviceaccount.identity.strait.cluster.local`;
function writeIdentity(sa: string): { cert: string; key: string; combined: string } {
  const leaf = issueWorkloadCertificate({ issuer, identity: identity(sa) });
  const cert = join(dir, `${sa}.crt`);
  const key = join(dir, `${sa}.key`);
  const combined = join(dir, `${sa}.pem`);
  writeFileSync(cert, leaf.chainPem);
  writeFileSync(key, leaf.keyPem);
  writeFileSync(combined, leaf.chainPem + leaf.keyPem);
  return { cert, key, combined };
}
const caFile = join(dir, 'ca.crt');
writeFileSync(caFile, anchor.certPem);
const clientId = writeIdentity('client');
const serverId = writeIdentity('server');

// ---- ports ------------------------------------------------------------------
const ports = {
  backend: await freePort(),
  bulk: await freePort(),
  strait: {
    listener: await freePort(),
    bulkListener: await freePort(),
    serverInbound: await freePort(),
    upgradedListener: await freePort(),
  },
  haproxy: {
    front: await freePort(),
    bulkFront: await freePort(),
    tls: await freePort(),
    bulkTls: await freePort(),
  },
};

// ---- processes --------------------------------------------------------------
function start(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err = (err + d).slice(-2000);
  });
  child.once('exit', (code) => {
    if (code !== null && code !== 0) process.stderr.write(`${command} exited ${code}: ${err}\n`);
  });
  children.push(child);
  return child;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
}

// Backend for HTTP: HAProxy answering by itself (cheap, so the proxies dominate).
writeFileSync(
  join(dir, 'backend.cfg'),
  `global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend backend
  bind 127.0.0.1:${ports.backend}
  http-request return status 200 content-type text/plain string "${'x'.repeat(1000)}"
`,
);
start('haproxy', ['-f', join(dir, 'backend.cfg'), '-db']);

// Backend for bulk: every connection receives BULK_BYTES then the end.
const BULK_BYTES = 256 * 1024 * 1024;
writeFileSync(
  join(dir, 'bulk.mjs'),
  `import net from 'node:net';
const chunk = Buffer.alloc(256 * 1024, 120);
net.createServer((s) => {
  let left = ${BULK_BYTES};
  const pump = () => { while (left > 0) { left -= chunk.length; if (!s.write(chunk)) return s.once('drain', pump); } s.end(); };
  s.on('error', () => {});
  pump();
}).listen(${ports.bulk}, '127.0.0.1');
`,
);
start(process.execPath, [join(dir, 'bulk.mjs')]);

// Strait: two proxy processes.
const proxyEntry = values.source ? dataPlaneEntryFiles('proxy').source : dataPlaneEntry('proxy');
const endpoint = (port: number) => ({
  address: '127.0.0.1',
  port,
  tlsIdentity: identity('server'),
  opaqueTransportPort: ports.strait.serverInbound,
});
writeFileSync(
  join(dir, 'client-proxy.json'),
  JSON.stringify({
    logLevel: 'warn',
    opaquePorts: [ports.bulk],
    endpoints: {
      [`backend.bench.svc.cluster.local:${ports.backend}`]: [endpoint(ports.backend)],
      [`bulk.bench.svc.cluster.local:${ports.bulk}`]: [endpoint(ports.bulk)],
    },
    outbound: {
      listeners: [
        { port: ports.strait.listener, target: `backend.bench.svc.cluster.local:${ports.backend}` },
        { port: ports.strait.bulkListener, target: `bulk.bench.svc.cluster.local:${ports.bulk}` },
      ],
    },
  }),
);
writeFileSync(
  join(dir, 'upgraded-proxy.json'),
  JSON.stringify({
    logLevel: 'warn',
    http1OverH2: true,
    endpoints: { [`backend.bench.svc.cluster.local:${ports.backend}`]: [endpoint(ports.backend)] },
    outbound: {
      listeners: [
        { port: ports.strait.upgradedListener, target: `backend.bench.svc.cluster.local:${ports.backend}` },
      ],
    },
  }),
);
const proxyEnv = (name: string, files: { cert: string; key: string }, inbound: number) => ({
  STRAIT_PROXY_CONFIG: join(dir, `${name}-proxy.json`),
  STRAIT_PROXY_INBOUND_ADDR: `127.0.0.1:${inbound}`,
  STRAIT_PROXY_OUTBOUND_ADDR: '127.0.0.1:0',
  STRAIT_PROXY_ADMIN_ADDR: '127.0.0.1:0',
  STRAIT_PROXY_TAP_ADDR: '127.0.0.1:0',
  STRAIT_PROXY_IDENTITY_CERT_FILE: files.cert,
  STRAIT_PROXY_IDENTITY_KEY_FILE: files.key,
  STRAIT_PROXY_TRUST_BUNDLE_FILE: caFile,
});
writeFileSync(join(dir, 'server-proxy.json'), JSON.stringify({ logLevel: 'warn' }));
const straitClient = start(
  process.execPath,
  [...NODE_ARGS, proxyEntry],
  proxyEnv('client', clientId, await freePort()),
);
const straitUpgraded = start(
  process.execPath,
  [...NODE_ARGS, proxyEntry],
  proxyEnv('upgraded', clientId, await freePort()),
);
const straitServer = start(
  process.execPath,
  [...NODE_ARGS, proxyEntry],
  proxyEnv('server', serverId, ports.strait.serverInbound),
);

// HAProxy: the same two hops, mTLS 1.3 between them, one thread each.
const haproxyCommon = `global
  nbthread 1
  tune.ssl.default-dh-param 2048
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
`;
writeFileSync(
  join(dir, 'ha-client.cfg'),
  `${haproxyCommon}
frontend http_in
  mode http
  bind 127.0.0.1:${ports.haproxy.front}
  default_backend mesh
backend mesh
  mode http
  http-reuse always
  server peer 127.0.0.1:${ports.haproxy.tls} ssl crt ${clientId.combined} ca-file ${caFile} verify required sni str(${identity('server')}) verifyhost ${identity('server')} ssl-min-ver TLSv1.3
frontend tcp_in
  mode tcp
  bind 127.0.0.1:${ports.haproxy.bulkFront}
  default_backend bulk_mesh
backend bulk_mesh
  mode tcp
  server peer 127.0.0.1:${ports.haproxy.bulkTls} ssl crt ${clientId.combined} ca-file ${caFile} verify required sni str(${identity('server')}) verifyhost ${identity('server')} ssl-min-ver TLSv1.3
`,
);
writeFileSync(
  join(dir, 'ha-server.cfg'),
  `${haproxyCommon}
frontend mesh_in
  mode http
  bind 127.0.0.1:${ports.haproxy.tls} ssl crt ${serverId.combined} ca-file ${caFile} verify required ssl-min-ver TLSv1.3
  default_backend app
backend app
  mode http
  http-reuse always
  server app 127.0.0.1:${ports.backend}
frontend bulk_in
  mode tcp
  bind 127.0.0.1:${ports.haproxy.bulkTls} ssl crt ${serverId.combined} ca-file ${caFile} verify required ssl-min-ver TLSv1.3
  default_backend bulk
backend bulk
  mode tcp
  server bulk 127.0.0.1:${ports.bulk}
`,
);
const haClient = start('haproxy', ['-f', join(dir, 'ha-client.cfg'), '-db']);
const haServer = start('haproxy', ['-f', join(dir, 'ha-server.cfg'), '-db']);

for (const port of [
  ports.backend,
  ports.bulk,
  ports.strait.listener,
  ports.strait.serverInbound,
  ports.strait.upgradedListener,
  ports.haproxy.front,
  ports.haproxy.tls,
]) {
  await waitForPort(port);
}

// ---- measuring --------------------------------------------------------------
function cpuTicks(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    total += Number(fields[11]) + Number(fields[12]);
  }
  return total;
}
const TICK_US = 1_000_000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    kb = Math.max(kb, Number(line?.replace(/\D+/g, '') ?? 0));
  }
  return Math.round(kb / 102.4) / 10;
}

function wrk(port: number, seconds: number): number {
  const out = execFileSync('wrk', ['-t1', '-c32', `-d${seconds}s`, `http://127.0.0.1:${port}/`]).toString();
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
}

// ---- CPU placement for the latency phases ---------------------------------------
// A tail latency of a millisecond is below the scheduler's time slice: when the load generator and
// the processes under test share both cores, a request waits whenever h2load (or one of the
// steady-load processes starting) holds the core its proxy needs, and the p99 measures that. For
// the latency phases every process under test (both stacks, the backend) moves to CPUs 1..n-1 and
// the load generator runs on CPU 0, for direct, Strait and HAProxy alike. The other phases run
// unpinned, as before.
const ALL_CPUS = `0-${availableParallelism() - 1}`;
const LOAD_CPUS = '0';
const MEASURED_CPUS = `1-${availableParallelism() - 1}`;
let loadPinned = false;
const loadGenerator = (args: string[]) =>
  loadPinned ? ['taskset', '-c', LOAD_CPUS, 'h2load', ...args] : ['h2load', ...args];
/** Every thread of `pid` onto `cpus`. */
const placeProcess = (pid: number, cpus: string) =>
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
function pinForLatency(): { loadGenerator: string; underTest: string } | undefined {
  if (!values.pin || availableParallelism() < 2) return undefined;
  for (const child of children) placeProcess(child.pid as number, MEASURED_CPUS);
  loadPinned = true;
  return { loadGenerator: LOAD_CPUS, underTest: MEASURED_CPUS };
}
function unpin(): void {
  if (!loadPinned) return;
  for (const child of children) placeProcess(child.pid as number, ALL_CPUS);
  loadPinned = false;
}

// ---- halting CPUs -------------------------------------------------------------
// On a virtual machine an idle CPU halts its vCPU, and waking it (an interrupt through the
// hypervisor) takes from tens of microseconds to milliseconds. At 1,000 small requests a second
// the CPUs idle between requests and every hop of a request may pay one wake-up: on this kind of
// machine a direct request's p99 is ~3 ms halting and ~0.5 ms awake, so the wake-ups, not the
// proxies, dominate the added p99. Bare-metal benchmark hosts avoid this with idle=poll or
// disabled C-states; the same effect here comes from one spinner per CPU at SCHED_IDLE priority,
// which runs only when nothing else can and yields at once to any process that wakes. The goal
// latency phase runs that way for direct, Strait and HAProxy alike; the same phase with halting
// CPUs is recorded beside it.
function keepCpusAwake(): () => void {
  const spinners = Array.from({ length: availableParallelism() }, (_, cpu) =>
    spawn('taskset', ['-c', String(cpu), 'chrt', '--idle', '0', 'sh', '-c', 'while :; do :; done'], {
      stdio: 'ignore',
    }),
  );
  const stop = () => {
    for (const spinner of spinners) spinner.kill('SIGKILL');
  };
  process.on('exit', stop);
  return stop;
}

// h2load appends to an existing log file, so every run gets a new one.
let logCount = 0;
const newLog = (port: number) => join(dir, `h2load-${++logCount}-${port}.log`);
const CLIENTS = 10;
const h2loadArgs = (port: number, clients: number, rps: number, seconds: number, log: string) => [
  '--h1',
  '-c',
  String(clients),
  '--rps',
  String(rps / clients),
  '-D',
  String(seconds),
  '--log-file',
  log,
  `http://127.0.0.1:${port}/`,
];

/** Rows of h2load logs: start (µs since the epoch) and latency (µs until the end of the response). */
function readLogs(logs: string[]): { start: number; latency: number }[] {
  return logs.flatMap((log) =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('\t'))
      .map((cols) => ({ start: Number(cols[0]), latency: Number(cols[2]) }))
      .filter((row) => Number.isFinite(row.start) && Number.isFinite(row.latency)),
  );
}
const sortedLatenciesMs = (logs: string[]) =>
  readLogs(logs)
    .map((row) => row.latency / 1000)
    .sort((a, b) => a - b);

/**
 * Bursts: ONE h2load with 10 connections. It opens them together and each fires every 10 ms, so
 * "1,000 req/s" arrives as 10 simultaneous requests every 10 ms and the p99 is mostly the tenth
 * request's wait behind the other nine. Returns per-request latencies (ms), sorted.
 */
function fixedRate(port: number, rps: number, seconds: number) {
  const log = newLog(port);
  const [command, ...args] = loadGenerator(h2loadArgs(port, CLIENTS, rps, seconds, log));
  execFileSync(command as string, args);
  return {
    latencies: sortedLatenciesMs([log]),
    spread: { startsUnder100usApart: closeStarts(readLogs([log]).map((row) => row.start)) },
  };
}

/** Share of consecutive request starts (µs since the epoch) less than 0.1 ms apart. */
function closeStarts(starts: number[]): number {
  const sorted = [...starts].sort((a, b) => a - b);
  const close = sorted.filter((start, i) => i > 0 && start - (sorted[i - 1] as number) < 100).length;
  return round(close / Math.max(1, sorted.length - 1), 3);
}

/**
 * Steady load: one process (bench/steady-load.ts) starting a request every millisecond on ten
 * keep-alive connections, each request on a connection with none in flight. The first
 * ROUND_WARMUP_SECONDS on the new connections run at the same rate unmeasured (their first
 * requests are set-up cost, reported apart as `firstLatencies`). `spread` says how many
 * requests started more than one interval late (the generator's timer, 1 ms resolution) and
 * how many found every connection busy (then it starts none). Latencies (ms), sorted.
 */
async function steadyRate(port: number, rps: number, seconds: number) {
  const script = new URL('./steady-load.ts', import.meta.url).pathname;
  const command = [
    process.execPath,
    script,
    String(port),
    String(rps),
    String(seconds),
    String(CLIENTS),
    String(ROUND_WARMUP_SECONDS),
  ];
  const [file, ...args] = loadPinned ? ['taskset', '-c', LOAD_CPUS, ...command] : command;
  const output = await new Promise<string>((resolve, reject) =>
    execFile(file as string, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
  const result = JSON.parse(output) as {
    latenciesMs: number[];
    firstLatenciesMs: number[];
    late: number;
    busy: number;
    errors: number;
  };
  if (result.errors > 0) throw new Error(`steady load on ${port}: ${result.errors} connection errors`);
  return {
    latencies: result.latenciesMs,
    firstLatencies: result.firstLatenciesMs,
    spread: { startedLate: result.late, allConnectionsBusy: result.busy },
  };
}

/**
 * Clock ticks of all CPUs since boot, and those the hypervisor gave to others while this machine
 * wanted them (steal): a virtual machine's stall that no process inside it can avoid.
 */
function machineTicks(): { steal: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is within user)
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { steal: ticks[7] ?? 0, total: ticks.reduce((a, b) => a + b, 0) };
}

/**
 * Ten rounds: with five, one disturbed round held a fifth of a stack's requests and alone could
 * set the merged p99 (docs/proxy.md, Added latency).
 */
const LATENCY_ROUNDS = 10;
/** Measured steady load per round and stack. */
const ROUND_SECONDS = SECONDS / 5;
/** Unmeasured steady load at the start of each round, on its new connections. */
const ROUND_WARMUP_SECONDS = 1;
/**
 * The steady load in rounds: each round gives direct, Strait and HAProxy `roundSeconds` each,
 * one after another, and each stack's latencies are merged over the rounds. A stall of this
 * shared machine then lands on one round of one stack instead of on a whole measurement.
 */
async function interleavedSteadyRate(rps: number, roundSeconds: number) {
  const stacks = { direct: ports.backend, strait: ports.strait.listener, haproxy: ports.haproxy.front };
  const stack = () => ({
    latencies: [] as number[],
    firstLatencies: [] as number[],
    /** Each round's own p99 (ms): shows whether one round's stall sets the merged figure. */
    p99ByRound: [] as number[],
    spread: { startedLate: 0, allConnectionsBusy: 0, stealPercent: 0 },
    ticks: { stolen: 0, total: 0 },
  });
  const merged = { direct: stack(), strait: stack(), haproxy: stack() };
  for (let i = 0; i < LATENCY_ROUNDS; i++) {
    for (const [name, port] of Object.entries(stacks) as Array<[keyof typeof stacks, number]>) {
      const into = merged[name];
      const before = machineTicks();
      const result = await steadyRate(port, rps, roundSeconds);
      const after = machineTicks();
      into.ticks.stolen += after.steal - before.steal;
      into.ticks.total += after.total - before.total;
      into.latencies.push(...result.latencies);
      into.p99ByRound.push(round(pct(result.latencies, 0.99), 3));
      into.firstLatencies.push(...result.firstLatencies);
      into.spread.startedLate += result.spread.startedLate;
      into.spread.allConnectionsBusy += result.spread.allConnectionsBusy;
    }
  }
  for (const into of Object.values(merged)) {
    into.latencies.sort((a, b) => a - b);
    into.firstLatencies.sort((a, b) => a - b);
    into.spread.stealPercent = round((100 * into.ticks.stolen) / Math.max(1, into.ticks.total), 1);
  }
  return merged;
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

async function bulk(port: number): Promise<number> {
  const startedAt = performance.now();
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('data', (d) => (bytes += d.length));
    s.on('end', resolve);
    s.on('error', reject);
  });
  if (bytes !== BULK_BYTES) throw new Error(`bulk transfer through ${port} got ${bytes} bytes`);
  return bytes / 1e6 / ((performance.now() - startedAt) / 1000);
}

/** CPU time per request of the processes `pids` together, and of each (in the order given). */
function cpuPerRequest(pids: number[], port: number, rps: number, seconds: number) {
  const before = pids.map((pid) => cpuTicks([pid]));
  const { latencies } = fixedRate(port, rps, seconds);
  const perProcess = pids.map((pid, i) =>
    round(((cpuTicks([pid]) - (before[i] as number)) * TICK_US) / Math.max(1, latencies.length), 1),
  );
  return { usPerRequest: perProcess.reduce((a, b) => a + b, 0), perProcess, latencies };
}

const median = (values: number[]) =>
  pct(
    [...values].sort((a, b) => a - b),
    0.5,
  );

const CAPACITY_ROUNDS = 3;
/**
 * wrk -c32 against each stack in rounds that alternate between them; each stack's figure is its
 * median. The hypervisor's steal on this kind of machine changes from one 10-s run to the next
 * (0 to 40% of the CPUs' time), so one run per stack measured the host as much as the stacks.
 */
function interleavedCapacity(seconds: number) {
  const rounds: Array<{
    strait: number;
    haproxy: number;
    stealPercent: { strait: number; haproxy: number };
  }> = [];
  const stolenPercent = (run: () => number) => {
    const before = machineTicks();
    const rps = run();
    const after = machineTicks();
    return {
      rps,
      steal: round((100 * (after.steal - before.steal)) / Math.max(1, after.total - before.total), 1),
    };
  };
  for (let i = 0; i < CAPACITY_ROUNDS; i++) {
    const strait = stolenPercent(() => wrk(ports.strait.listener, seconds));
    const haproxy = stolenPercent(() => wrk(ports.haproxy.front, seconds));
    rounds.push({
      strait: round(strait.rps, 0),
      haproxy: round(haproxy.rps, 0),
      stealPercent: { strait: strait.steal, haproxy: haproxy.steal },
    });
  }
  return {
    strait: median(rounds.map((r) => r.strait)),
    haproxy: median(rounds.map((r) => r.haproxy)),
    rounds,
  };
}

const straitPids = [straitClient.pid as number, straitServer.pid as number];
const haPids = [haClient.pid as number, haServer.pid as number];
// Idle: 1 s after the start, and the figure for the goal 5 s later, where an idle proxy
// stays (startup garbage collected, the first trim of freed memory done).
await new Promise((r) => setTimeout(r, 1000));
const rssJustStarted = rssMb(straitPids);
await new Promise((r) => setTimeout(r, 5000));
const idleRss = rssMb(straitPids);

// Warm-up, then each figure for both stacks back to back.
wrk(ports.strait.listener, 2);
wrk(ports.haproxy.front, 2);
const capacity = interleavedCapacity(SECONDS / 2);
const loadedRss = rssMb(straitPids);
const rssByProcess = {
  clientProxyMb: rssMb([straitClient.pid as number]),
  serverProxyMb: rssMb([straitServer.pid as number]),
};
const cpuRate = 2000;
const cpuRuns = {
  strait: cpuPerRequest(straitPids, ports.strait.listener, cpuRate, SECONDS),
  haproxy: cpuPerRequest(haPids, ports.haproxy.front, cpuRate, SECONDS),
};
const cpu = { strait: cpuRuns.strait.usPerRequest, haproxy: cpuRuns.haproxy.usPerRequest };
// Added latency at 1,000 req/s: the steady load for the goal, the bursts for comparison.
const placement = pinForLatency();
const steadyHalting = await interleavedSteadyRate(1000, ROUND_SECONDS);
let steady = steadyHalting;
if (values.awake) {
  const stopSpinning = keepCpusAwake();
  steady = await interleavedSteadyRate(1000, ROUND_SECONDS);
  stopSpinning();
}
const rssAt1k = rssMb(straitPids);
const bursts = {
  direct: fixedRate(ports.backend, 1000, SECONDS),
  strait: fixedRate(ports.strait.listener, 1000, SECONDS),
  haproxy: fixedRate(ports.haproxy.front, 1000, SECONDS),
};
unpin();
// HTTP/1.1 between proxies: pooled HTTP/1.1 connections (default) vs one multiplexed HTTP/2 connection.
const upgradedPids = [straitUpgraded.pid as number, straitServer.pid as number];
wrk(ports.strait.upgradedListener, 2);
const upgraded = {
  capacity: wrk(ports.strait.upgradedListener, SECONDS),
  cpu: cpuPerRequest(upgradedPids, ports.strait.upgradedListener, cpuRate, SECONDS).usPerRequest,
  rssMb: {
    clientProxy: rssMb([straitUpgraded.pid as number]),
    serverProxy: rssMb([straitServer.pid as number]),
  },
};
// Opaque bulk: one unmeasured transfer per stack (the relay's code paths and read buffers warm
// up, as the HTTP phases' warm-up does for theirs), then transfers alternating between the
// stacks; each stack's figure is its median.
const BULK_TRANSFERS = 3;
await bulk(ports.strait.bulkListener);
await bulk(ports.haproxy.bulkFront);
const transfers = { strait: [] as number[], haproxy: [] as number[] };
for (let i = 0; i < BULK_TRANSFERS; i++) {
  transfers.strait.push(round(await bulk(ports.strait.bulkListener), 0));
  transfers.haproxy.push(round(await bulk(ports.haproxy.bulkFront), 0));
}
const throughput = { strait: median(transfers.strait), haproxy: median(transfers.haproxy) };

let soak: { minutes: number; rssStartMb: number; rssEndMb: number } | undefined;
const soakMinutes = Number(values['soak-minutes']);
if (soakMinutes > 0) {
  const rssStartMb = rssMb(straitPids);
  fixedRate(ports.strait.listener, 1000, soakMinutes * 60);
  soak = { minutes: soakMinutes, rssStartMb, rssEndMb: rssMb(straitPids) };
}

// ---- results ----------------------------------------------------------------
/** Latency percentile `p` of one stack minus that of direct requests under the same load. */
function addedLatency(
  load: typeof steady | typeof bursts,
  p: number,
  goal: string,
  met: (strait: number) => boolean,
) {
  const added = (stack: 'strait' | 'haproxy') =>
    round(pct(load[stack].latencies, p) - pct(load.direct.latencies, p), 3);
  const strait = added('strait');
  const peer = added('haproxy');
  return {
    strait,
    peer,
    // When direct requests had the larger tail (a stall in their run), there is nothing to compare.
    ratio: peer > 0 ? round(strait / peer) : null,
    goal,
    met: met(strait),
  };
}
const latencySummary = (load: typeof steady | typeof bursts) =>
  Object.fromEntries(
    (['direct', 'strait', 'haproxy'] as const).map((stack) => {
      const measured = load[stack];
      const { latencies, spread } = measured;
      // Rounds and first requests on new connections: the steady load has them, the bursts do not.
      const steadyOnly = 'firstLatencies' in measured ? measured : undefined;
      const first = steadyOnly?.firstLatencies;
      return [
        stack,
        {
          p50: round(pct(latencies, 0.5), 3),
          p90: round(pct(latencies, 0.9), 3),
          p99: round(pct(latencies, 0.99), 3),
          p999: round(pct(latencies, 0.999), 3),
          requests: latencies.length,
          ...(steadyOnly && { p99ByRound: steadyOnly.p99ByRound }),
          ...spread,
          ...(first && {
            firstRequestOnNewConnection: {
              p50: round(pct(first, 0.5), 3),
              max: round(first[first.length - 1] ?? Number.NaN, 3),
              requests: first.length,
            },
          }),
        },
      ];
    }),
  );
const STEADY = `one request started every 1 ms on 10 keep-alive connections (bench/steady-load.ts), ${LATENCY_ROUNDS} interleaved rounds of ${ROUND_SECONDS} s, each on new connections after ${ROUND_WARMUP_SECONDS} s unmeasured`;
const CPUS_AWAKE = values.awake ? ', idle CPUs kept awake (SCHED_IDLE spinners)' : ', halting CPUs';
const BURSTS = 'one h2load, 10 connections firing together every 10 ms';
const figures = [
  {
    name: 'http1_mtls_cpu_us_per_request',
    unit: 'µs CPU per request, both proxies, at 2,000 req/s',
    strait: round(cpu.strait, 1),
    peer: round(cpu.haproxy, 1),
    ratio: round(cpu.strait / cpu.haproxy),
    goal: 'ratio ≤ 2.5',
    met: cpu.strait / cpu.haproxy <= 2.5,
  },
  {
    name: 'http1_mtls_capacity_rps',
    unit: `req/s, wrk -c32 closed loop, median of ${CAPACITY_ROUNDS} alternating ${SECONDS / 2}-s runs per stack`,
    strait: round(capacity.strait, 0),
    peer: round(capacity.haproxy, 0),
    ratio: round(capacity.strait / capacity.haproxy),
    goal: 'ratio ≥ 0.4',
    met: capacity.strait / capacity.haproxy >= 0.4,
  },
  {
    name: 'opaque_mtls_bulk_mb_per_s',
    unit: `MB/s, median of ${BULK_TRANSFERS} alternating 256 MiB transfers after one unmeasured per stack`,
    strait: round(throughput.strait, 0),
    peer: round(throughput.haproxy, 0),
    ratio: round(throughput.strait / throughput.haproxy),
    goal: 'ratio ≥ 0.7',
    met: throughput.strait / throughput.haproxy >= 0.7,
  },
  {
    name: 'added_latency_p99_ms_at_1000rps',
    unit: `ms over direct, two proxies, HTTP/1.1 + mTLS, steady load: ${STEADY}${CPUS_AWAKE}`,
    ...addedLatency(steady, 0.99, 'absolute ≤ 1 ms', (strait) => strait <= 1),
  },
  {
    name: 'added_latency_p50_ms_at_1000rps',
    unit: `ms over direct, steady load: ${STEADY}${CPUS_AWAKE}`,
    ...addedLatency(steady, 0.5, 'informational', () => true),
  },
  ...(values.awake
    ? [
        {
          name: 'added_latency_p99_ms_at_1000rps_halting_cpus',
          unit: `ms over direct, the same steady load with idle CPUs halting (a vCPU wake-up per hop)`,
          ...addedLatency(steadyHalting, 0.99, 'informational', () => true),
        },
        {
          name: 'added_latency_p50_ms_at_1000rps_halting_cpus',
          unit: `ms over direct, the same steady load with idle CPUs halting`,
          ...addedLatency(steadyHalting, 0.5, 'informational', () => true),
        },
      ]
    : []),
  {
    name: 'added_latency_p99_ms_at_1000rps_bursts_of_10',
    unit: `ms over direct, synchronized bursts: ${BURSTS}`,
    ...addedLatency(bursts, 0.99, 'informational', () => true),
  },
  {
    name: 'added_latency_p50_ms_at_1000rps_bursts_of_10',
    unit: `ms over direct, synchronized bursts: ${BURSTS}`,
    ...addedLatency(bursts, 0.5, 'informational', () => true),
  },
  {
    name: 'http1_over_h2_cpu_us_per_request',
    unit: 'µs CPU per request, both proxies, 2,000 req/s; peer = pooled HTTP/1.1 between the proxies',
    strait: round(upgraded.cpu, 1),
    peer: round(cpu.strait, 1),
    ratio: round(upgraded.cpu / cpu.strait),
    goal: 'make it the default only if ratio ≤ 1.0',
    met: upgraded.cpu / cpu.strait <= 1,
  },
  {
    name: 'http1_over_h2_capacity_rps',
    unit: 'req/s, wrk -c32; peer = pooled HTTP/1.1 between the proxies',
    strait: round(upgraded.capacity, 0),
    peer: round(capacity.strait, 0),
    ratio: round(upgraded.capacity / capacity.strait),
    goal: 'make it the default only if ratio ≥ 1.0',
    met: upgraded.capacity / capacity.strait >= 1,
  },
  {
    name: 'proxy_rss_idle_mb',
    unit: 'MB, largest of the two proxies, idle 6 s after the start',
    strait: idleRss,
    peer: null,
    ratio: null,
    goal: 'absolute ≤ 60 MB',
    met: idleRss <= 60,
  },
  {
    name: 'proxy_rss_loaded_mb',
    unit: 'MB, largest of the two proxies, after capacity and 1,000 req/s runs',
    strait: Math.max(loadedRss, rssAt1k),
    peer: null,
    ratio: null,
    goal: 'absolute ≤ 80 MB',
    met: Math.max(loadedRss, rssAt1k) <= 80,
  },
];
const result = {
  date: new Date().toISOString(),
  machine: {
    cpus: (await import('node:os')).cpus().length,
    node: process.version,
    haproxy: execFileSync('haproxy', ['-v']).toString().split('\n')[0],
  },
  notes:
    'Everything on one shared machine (load generator, backend, both stacks); ratios are the robust part. ' +
    'Both stacks: one thread per proxy, TLS 1.3 with client certificates between the hops, pooled upstream connections.',
  seconds: SECONDS,
  proxyEntry: proxyEntry.replace(new URL('..', import.meta.url).pathname, ''),
  proxyNodeArgs: NODE_ARGS,
  figures,
  latencyAt1000rps: {
    steady: latencySummary(steady),
    ...(values.awake ? { steadyHaltingCpus: latencySummary(steadyHalting) } : {}),
    idleCpus: values.awake ? 'kept awake for "steady" (SCHED_IDLE spinner per CPU)' : 'halting',
    bursts: latencySummary(bursts),
    cpus: placement ?? 'shared',
  },
  rssOneSecondAfterStartMb: rssJustStarted,
  capacityRounds: capacity.rounds,
  rssAfterCapacityRun: rssByProcess,
  cpuUsPerRequestByProcess: {
    strait: { clientProxy: cpuRuns.strait.perProcess[0], serverProxy: cpuRuns.strait.perProcess[1] },
    haproxy: { clientProxy: cpuRuns.haproxy.perProcess[0], serverProxy: cpuRuns.haproxy.perProcess[1] },
  },
  rssAfterHttp1OverH2Runs: upgraded.rssMb,
  bulkTransfersMbPerS: transfers,
  loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
  soak: soak ?? 'not run (pass --soak-minutes 10)',
};
writeFileSync(values.out as string, `${JSON.stringify(result, null, 2)}\n`);
const nameWidth = Math.max(...figures.map((f) => f.name.length));
const lines = figures.map(
  (f) =>
    `${f.met ? '✓' : '×'} ${f.name.padEnd(nameWidth)} strait ${String(f.strait).padStart(8)}  haproxy ${String(f.peer ?? '-').padStart(8)}  ratio ${String(f.ratio ?? '-').padStart(5)}  goal ${f.goal}`,
);
process.stdout.write(`${lines.join('\n')}\nwritten to ${values.out}\n`);
process.exit(0);

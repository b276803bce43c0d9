// proxy-init's rules for real: two network namespaces joined by a veth pair,
// a "pod" with the rules applied and a "peer" without. Needs root and iproute2.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OUTBOUND_CHAIN } from '../../../src/platform/kubernetes/proxy-init/index.ts';
import { originalDestinationAvailable } from '../../../src/proxy/transport/original-dst.ts';

const PROXY_INIT = fileURLToPath(new URL('../../../src/cmd/proxy-init.ts', import.meta.url));
const SERVER = fileURLToPath(new URL('./tag-server.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./tag-client.ts', import.meta.url));

function supported(): string | false {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const tool of ['ip', 'iptables']) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `${tool} is not installed`;
  }
  if (!originalDestinationAvailable()) return 'the SO_ORIGINAL_DST addon is not built';
  return false;
}

const run = Math.floor(Math.random() * 1e6).toString(36);
const POD = `strait-pi-pod-${run}`;
const PEER = `strait-pi-peer-${run}`;
const subnet = `10.252.${randomInt(0, 256)}`;
const POD_IP = `${subnet}.1`;
const PEER_IP = `${subnet}.2`;
const subnet6 = `fd00:5e:${randomInt(0, 65536).toString(16)}`;
const POD_IP6 = `${subnet6}::1`;
const PEER_IP6 = `${subnet6}::2`;

const sh = (...args: string[]) => execFileSync(args[0] as string, args.slice(1), { stdio: 'pipe' });
const inNs = (ns: string, ...args: string[]) => ['ip', 'netns', 'exec', ns, ...args];

function proxyInit(...flags: string[]) {
  return spawnSync(...splitCommand(inNs(POD, process.execPath, PROXY_INIT, ...flags)), { encoding: 'utf8' });
}

function splitCommand(argv: string[]): [string, string[]] {
  return [argv[0] as string, argv.slice(1)];
}

function natRules(program = 'iptables-save'): string[] {
  return sh(...inNs(POD, program, '-t', 'nat'))
    .toString()
    .split('\n')
    .filter((line) => line.startsWith('-A ') || line.startsWith(':STRAIT'));
}

async function call(ns: string, host: string, port: number, uid?: number) {
  const args = [process.execPath, CLIENT, host, String(port), ...(uid === undefined ? [] : [String(uid)])];
  const child = spawn(...splitCommand(inNs(ns, ...args)), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk;
  });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, `client ${host}:${port} failed: ${err}`);
  return JSON.parse(out) as { name: string; port: number; original: number | null };
}

async function startServer(ns: string, name: string, ports: number[]): Promise<ChildProcess> {
  const child = spawn(...splitCommand(inNs(ns, process.execPath, SERVER, name, ...ports.map(String))), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = await once(child.stdout as NodeJS.ReadableStream, 'data');
  assert.equal(String(chunk).trim(), 'ready');
  return child;
}

describe('proxy-init in network namespaces', { timeout: 180_000, skip: supported() }, () => {
  const servers: ChildProcess[] = [];

  before(async () => {
    sh('ip', 'netns', 'add', POD);
    sh('ip', 'netns', 'add', PEER);
    const vethPod = `spi${run}a`.slice(0, 15);
    const vethPeer = `spi${run}b`.slice(0, 15);
    sh('ip', 'link', 'add', vethPod, 'netns', POD, 'type', 'veth', 'peer', 'name', vethPeer, 'netns', PEER);
    for (const [ns, dev, ip, ip6] of [
      [POD, vethPod, POD_IP, POD_IP6],
      [PEER, vethPeer, PEER_IP, PEER_IP6],
    ] as const) {
      sh(...inNs(ns, 'ip', 'link', 'set', 'lo', 'up'));
      sh(...inNs(ns, 'ip', 'addr', 'add', `${ip}/24`, 'dev', dev));
      sh(...inNs(ns, 'ip', '-6', 'addr', 'add', `${ip6}/64`, 'dev', dev, 'nodad'));
      sh(...inNs(ns, 'ip', 'link', 'set', dev, 'up'));
    }
    servers.push(await startServer(POD, 'pod', [4140, 4143, 4191, 8080, 8081]));
    servers.push(await startServer(PEER, 'peer', [9000, 9001]));
  });

  after(() => {
    for (const server of servers) server.kill('SIGKILL');
    for (const ns of [POD, PEER]) spawnSync('ip', ['netns', 'del', ns]);
  });

  it('applies the rules, and applying them again leaves the same table', () => {
    const flags = ['--skip-inbound-ports', '8081', '--skip-outbound-ports', '9001', '--ipv6'];
    const first = proxyInit(...flags);
    assert.equal(first.status, 0, first.stderr);
    const rules = natRules();
    assert.ok(rules.some((line) => line.includes(OUTBOUND_CHAIN) && line.includes('--uid-owner 2102')));
    const second = proxyInit(...flags);
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(natRules(), rules);
    assert.equal(natRules('ip6tables-save').length, rules.length);
  });

  it('sends a connection to an application port to the inbound listener on 4143', async () => {
    assert.deepEqual(await call(PEER, POD_IP, 8080), { name: 'pod', port: 4143, original: 8080 });
  });

  it('leaves skipped inbound ports and the admin port alone', async () => {
    assert.deepEqual(await call(PEER, POD_IP, 8081), { name: 'pod', port: 8081, original: null });
    assert.deepEqual(await call(PEER, POD_IP, 4191), { name: 'pod', port: 4191, original: null });
  });

  it("sends the application's outbound connection to 4140", async () => {
    assert.deepEqual(await call(POD, PEER_IP, 9000), { name: 'pod', port: 4140, original: 9000 });
  });

  it("lets the proxy's UID and skipped outbound ports through", async () => {
    assert.deepEqual(await call(POD, PEER_IP, 9000, 2102), { name: 'peer', port: 9000, original: null });
    assert.deepEqual(await call(POD, PEER_IP, 9001), { name: 'peer', port: 9001, original: null });
  });

  it('redirects IPv6 the same way with --ipv6', async () => {
    assert.deepEqual(await call(PEER, POD_IP6, 8080), { name: 'pod', port: 4143, original: 8080 });
    assert.deepEqual(await call(POD, PEER_IP6, 9000), { name: 'pod', port: 4140, original: 9000 });
    assert.deepEqual(await call(POD, PEER_IP6, 9000, 2102), { name: 'peer', port: 9000, original: null });
  });

  it('refuses a malformed port list with exit 2, naming the flag', () => {
    const bad = proxyInit('--skip-inbound-ports', '80,70000');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--skip-inbound-ports: "70000" is not a port/);
  });

  it('--remove takes the rules out', async () => {
    const removed = proxyInit('--remove', '--ipv6');
    assert.equal(removed.status, 0, removed.stderr);
    assert.deepEqual(natRules(), []);
    assert.deepEqual(natRules('ip6tables-save'), []);
    assert.deepEqual(await call(PEER, POD_IP, 8080), { name: 'pod', port: 8080, original: null });
  });
});

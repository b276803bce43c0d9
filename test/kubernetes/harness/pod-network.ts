import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { processAlive } from '../../../src/platform/local/controllers/workload-reaper.ts';

const run = promisify(execFile);

/** The pod's default gateway, as Calico does it: a link-local address the host's end answers by proxy ARP. */
const GATEWAY = '169.254.1.1';
const PREFIX = 'strait-pod-';
const NETNS_ETC = '/etc/netns';
const OWNER_FILE = 'owner.pid';

/**
 * A pod's own network namespace: `eth0` holds the pod address (a /32), a veth
 * to the host, which routes the address to it; `/etc/hosts` inside is the
 * pod's own (`ip netns exec` binds `/etc/netns/<name>/hosts` over it), so
 * hosts entries can stand in for cluster DNS. Processes started through
 * `command` see only this namespace, so proxy-init's rules apply to them.
 */
export interface PodNetwork {
  /** The `ip netns` name. */
  name: string;
  ip: string;
  /** The argv that runs `argv` inside the namespace (`ip netns exec` execs it: same pid). */
  command(argv: string[]): string[];
  /**
   * Makes a process of this machine listening on a loopback `host:port`
   * reachable from inside at the returned `169.254.1.1:port`: the host's end
   * of the link rewrites the destination (route_localnet lets it be loopback),
   * as kube-proxy does for node ports on localhost.
   */
  bridge(loopback: string): Promise<string>;
  /** Writes the namespace's /etc/hosts: `name → address`. */
  setHosts(entries: ReadonlyMap<string, string>): Promise<void>;
  /** Kills what still runs inside, removes the namespace, its link, route and rules. */
  close(): Promise<void>;
}

/** Namespaces this process created and has not closed: removed on exit, even after a failure. */
const open = new Set<string>();
let prepared = false;

/** Creates the namespace for the pod at `address` (needs root, iproute2 and iptables). */
export async function createPodNetwork(address: string): Promise<PodNetwork> {
  prepare();
  const name = `${PREFIX}${address.replaceAll('.', '-')}`;
  const hostLink = hostLinkOf(name);
  const [, second, third, fourth] = address.split('.');
  const podLink = `spp${second}-${third}-${fourth}`;
  const etc = `${NETNS_ETC}/${name}`;
  const inside = (...args: string[]) => ip('netns', 'exec', name, 'ip', ...args);
  const owner = ownerOf(name);
  if (owner && owner !== process.pid && processAlive(owner)) {
    throw new Error(`pod network ${name} for ${address} belongs to running process ${owner}`);
  }
  // A namespace of the same name left by a dead run would make `netns add` fail.
  removeNetwork(name);
  await mkdir(etc, { recursive: true });
  await writeFile(`${etc}/${OWNER_FILE}`, String(process.pid));
  await writeFile(`${etc}/hosts`, hostsFile(address, name, new Map()));
  open.add(name);
  try {
    await ip('netns', 'add', name);
    await inside('link', 'set', 'lo', 'up');
    await ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', podLink);
    await ip('link', 'set', podLink, 'netns', name);
    await inside('link', 'set', podLink, 'name', 'eth0');
    await inside('addr', 'add', `${address}/32`, 'dev', 'eth0');
    await inside('link', 'set', 'eth0', 'up');
    await inside('route', 'add', GATEWAY, 'dev', 'eth0', 'scope', 'link');
    await inside('route', 'add', 'default', 'via', GATEWAY, 'dev', 'eth0');
    await run('sysctl', ['-q', '-w', `net.ipv4.conf.${hostLink}.proxy_arp=1`, 'net.ipv4.ip_forward=1']);
    await ip('link', 'set', hostLink, 'up');
    await ip('route', 'replace', `${address}/32`, 'dev', hostLink);
  } catch (error) {
    removeNetwork(name);
    open.delete(name);
    throw error;
  }
  let routeLocalnet = false;
  return {
    name,
    ip: address,
    async bridge(loopback) {
      const match = /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(loopback);
      if (!match) throw new Error(`pod ${address}: ${loopback} is not a loopback host:port`);
      const port = match[2] as string;
      if (!routeLocalnet) {
        await run('sysctl', ['-q', '-w', `net.ipv4.conf.${hostLink}.route_localnet=1`]);
        routeLocalnet = true;
      }
      await run('iptables', [
        '-w',
        '-t',
        'nat',
        '-A',
        'PREROUTING',
        '-i',
        hostLink,
        '-d',
        GATEWAY,
        '-p',
        'tcp',
        '--dport',
        port,
        '-j',
        'DNAT',
        '--to-destination',
        loopback,
      ]);
      return `${GATEWAY}:${port}`;
    },
    command: (argv) => ['ip', 'netns', 'exec', name, ...argv],
    async setHosts(entries) {
      await writeFile(`${etc}/hosts`, hostsFile(address, name, entries));
    },
    async close() {
      removeNetwork(name);
      open.delete(name);
    },
  };
}

function hostsFile(address: string, name: string, entries: ReadonlyMap<string, string>): string {
  const lines = [`127.0.0.1 localhost`, `${address} ${name}`];
  for (const [host, at] of entries) lines.push(`${at} ${host}`);
  return `${lines.join('\n')}\n`;
}

/** Interface names have at most 15 characters: `sph` and the address's last three octets. */
function hostLinkOf(name: string): string {
  const [, second, third, fourth] = name.slice(PREFIX.length).split('-');
  return `sph${second}-${third}-${fourth}`;
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

/**
 * Once per process: removes the namespaces of test processes that died
 * without closing theirs, and removes this process's own on exit.
 */
function prepare(): void {
  if (prepared) return;
  prepared = true;
  process.on('exit', () => {
    for (const name of open) removeNetwork(name);
  });
  for (const name of listNetworks()) {
    const owner = ownerOf(name);
    if (!owner || !processAlive(owner)) removeNetwork(name);
  }
}

/** The pid recorded as the namespace's owner, or 0. */
function ownerOf(name: string): number {
  try {
    return Number(readFileSync(`${NETNS_ETC}/${name}/${OWNER_FILE}`, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

function listNetworks(): string[] {
  const named = new Set<string>();
  try {
    for (const entry of readdirSync('/run/netns')) if (entry.startsWith(PREFIX)) named.add(entry);
  } catch {
    // No namespace exists yet.
  }
  try {
    for (const entry of readdirSync(NETNS_ETC)) if (entry.startsWith(PREFIX)) named.add(entry);
  } catch {
    // Nothing under /etc/netns.
  }
  return [...named];
}

/**
 * Synchronous, so it also runs in an exit handler: kills every process left
 * in the namespace (a namespace outlives `netns del` while one runs), then
 * removes the host's DNAT rules for its link, the link (and with it the peer
 * and the route), the namespace and its /etc/netns directory.
 */
function removeNetwork(name: string): void {
  const quiet = {
    stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'],
    encoding: 'utf8' as const,
  };
  const attempt = (command: string, args: string[]): string => {
    try {
      return execFileSync(command, args, quiet);
    } catch {
      return '';
    }
  };
  for (const pid of attempt('ip', ['netns', 'pids', name]).split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  const hostLink = hostLinkOf(name);
  for (const rule of attempt('iptables', ['-w', '-t', 'nat', '-S', 'PREROUTING']).split('\n')) {
    if (!rule.startsWith('-A ') || !rule.includes(` -i ${hostLink} `)) continue;
    attempt('iptables', ['-w', '-t', 'nat', '-D', ...rule.slice(3).split(' ')]);
  }
  attempt('ip', ['link', 'del', hostLink]);
  attempt('ip', ['netns', 'del', name]);
  rmSync(`${NETNS_ETC}/${name}`, { recursive: true, force: true });
}

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { StraitError } from '../../core/errors.ts';

/**
 * A cluster's own network namespace: its processes see only their loopback
 * (the cluster's 127.N.0.0/16 block) and a veth link to the host, so the only
 * way between clusters is through the addresses they expose on that link
 * (the store API and the gateway). The host forwards between the links.
 */
export interface NetworkNamespace {
  name: string;
  /** Address of the cluster on its link (172.31.N.2), reachable from the host and other clusters. */
  address: string;
  /** The host's end of the link (172.31.N.1), the namespace's default route. */
  hostAddress: string;
}

export function networkNamespaceOf(index: number, cluster: string): NetworkNamespace {
  return {
    name: `strait-${index}-${cluster}`,
    address: `172.31.${index}.2`,
    hostAddress: `172.31.${index}.1`,
  };
}

const hostLink = (index: number) => `sth${index}`;
const namespaceLink = (index: number) => `stn${index}`;

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new StraitError('E_NETNS', `ip ${args.join(' ')}: ${stderr || (error as Error).message}`, {
      hint: 'network namespaces need root and the iproute2 package',
    });
  }
}

/** Whether namespaces can be made here: root and the `ip` command. */
export function networkNamespacesSupported(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether the host already has the link of block `index` (another cluster, maybe of another home, uses it). */
export function blockLinkExists(index: number): boolean {
  return existsSync(`/sys/class/net/${hostLink(index)}`);
}

/** Creates the namespace and its link when missing (they do not survive a reboot). */
export function ensureNetworkNamespace(index: number, cluster: string): NetworkNamespace {
  if (process.getuid?.() !== 0) {
    throw new StraitError('E_NETNS', `cluster ${cluster}: a network namespace needs root`, {
      hint: 'run as root, or create the cluster without --netns',
    });
  }
  const ns = networkNamespaceOf(index, cluster);
  if (
    !ip(['netns', 'list'])
      .split('\n')
      .some((line) => line.split(' ')[0] === ns.name)
  ) {
    ip(['netns', 'add', ns.name]);
  }
  const inside = (args: string[]) => ip(['netns', 'exec', ns.name, 'ip', ...args]);
  inside(['link', 'set', 'lo', 'up']);
  if (!blockLinkExists(index)) {
    ip(['link', 'add', hostLink(index), 'type', 'veth', 'peer', 'name', namespaceLink(index)]);
    ip(['link', 'set', namespaceLink(index), 'netns', ns.name]);
    ip(['addr', 'add', `${ns.hostAddress}/24`, 'dev', hostLink(index)]);
    ip(['link', 'set', hostLink(index), 'up']);
    inside(['addr', 'add', `${ns.address}/24`, 'dev', namespaceLink(index)]);
    inside(['link', 'set', namespaceLink(index), 'up']);
    inside(['route', 'add', 'default', 'via', ns.hostAddress]);
  }
  execFileSync('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'], { stdio: 'ignore' });
  return ns;
}

/** Removes the namespace and its link. */
export function deleteNetworkNamespace(index: number, cluster: string): void {
  const ns = networkNamespaceOf(index, cluster);
  if (blockLinkExists(index)) ip(['link', 'del', hostLink(index)]);
  if (
    ip(['netns', 'list'])
      .split('\n')
      .some((line) => line.split(' ')[0] === ns.name)
  )
    ip(['netns', 'del', ns.name]);
}

/** The command line that runs `command` inside the namespace. */
export function inNamespace(namespace: string, command: string[]): string[] {
  return ['ip', 'netns', 'exec', namespace, ...command];
}

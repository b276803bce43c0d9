import { formatPortList, type PortRange } from './ports.ts';

/** What proxy-init needs to know to send a pod's TCP traffic through its proxy. */
export interface ProxyInitConfig {
  /** The proxy's inbound listener: the network's connections go here (4143). */
  inboundPort: number;
  /** The proxy's outbound listener: the application's connections go here (4140). */
  outboundPort: number;
  /** The proxy runs as this UID; its own connections are never redirected. */
  proxyUid: number;
  /** Inbound ports left alone (the proxy's admin and tap ports are added to them). */
  skipInboundPorts: PortRange[];
  /** Outbound destination ports left alone. */
  skipOutboundPorts: PortRange[];
  /** The proxy's admin (4191) and tap (4190) ports, never redirected inbound. */
  proxyPorts: number[];
}

/** The Strait chains in the nat table, jumped to from PREROUTING and OUTPUT. */
export const INBOUND_CHAIN = 'STRAIT_PROXY_INBOUND';
export const OUTBOUND_CHAIN = 'STRAIT_PROXY_OUTPUT';

export const DEFAULT_PROXY_UID = 2102;

/** The defaults the injector uses: Strait's ports, UID 2102, nothing skipped. */
export function defaultProxyInitConfig(): ProxyInitConfig {
  return {
    inboundPort: 4143,
    outboundPort: 4140,
    proxyUid: DEFAULT_PROXY_UID,
    skipInboundPorts: [],
    skipOutboundPorts: [],
    proxyPorts: [4190, 4191],
  };
}

/** One iptables command line, without the program name (always `-t nat`). */
export type IptablesRule = string[];

// iptables' multiport match takes at most 15 ports, a range counting as two.
const MULTIPORT_LIMIT = 15;

/** The rules appended to the Strait chains, in order. */
export function chainRules(config: ProxyInitConfig): { inbound: IptablesRule[]; outbound: IptablesRule[] } {
  const skipInbound = [
    ...config.proxyPorts.map((port) => ({ from: port, to: port })),
    ...config.skipInboundPorts,
  ];
  const inbound = [
    ...multiport(skipInbound).map((ports) =>
      nat('-A', INBOUND_CHAIN, '-p', 'tcp', '-m', 'multiport', '--dports', ports, '-j', 'RETURN'),
    ),
    nat('-A', INBOUND_CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(config.inboundPort)),
  ];
  const outbound = [
    nat('-A', OUTBOUND_CHAIN, '-m', 'owner', '--uid-owner', String(config.proxyUid), '-j', 'RETURN'),
    // Connections to the pod itself stay local, as Linkerd does.
    nat('-A', OUTBOUND_CHAIN, '-o', 'lo', '-j', 'RETURN'),
    ...multiport(config.skipOutboundPorts).map((ports) =>
      nat('-A', OUTBOUND_CHAIN, '-p', 'tcp', '-m', 'multiport', '--dports', ports, '-j', 'RETURN'),
    ),
    nat('-A', OUTBOUND_CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(config.outboundPort)),
  ];
  return { inbound, outbound };
}

/** The jumps from the built-in chains into Strait's: PREROUTING → inbound, OUTPUT → outbound. */
export const JUMPS: readonly { from: string; to: string }[] = [
  { from: 'PREROUTING', to: INBOUND_CHAIN },
  { from: 'OUTPUT', to: OUTBOUND_CHAIN },
];

function nat(...args: string[]): IptablesRule {
  return ['-t', 'nat', ...args];
}

function multiport(ranges: PortRange[]): string[] {
  const groups: string[] = [];
  let current: PortRange[] = [];
  let weight = 0;
  for (const range of ranges) {
    const cost = range.from === range.to ? 1 : 2;
    if (weight + cost > MULTIPORT_LIMIT) {
      groups.push(formatPortList(current));
      current = [];
      weight = 0;
    }
    current.push(range);
    weight += cost;
  }
  if (current.length > 0) groups.push(formatPortList(current));
  return groups;
}

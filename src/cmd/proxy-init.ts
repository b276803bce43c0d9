// The pod's init container: `node src/cmd/proxy-init.ts [flags]` installs the
// nat rules that send the pod's TCP traffic through its proxy. Safe to rerun.
import { parseArgs } from 'node:util';
import { describeError, StraitError } from '../core/errors.ts';
import {
  applyProxyInit,
  defaultProxyInitConfig,
  iptablesRunner,
  type ProxyInitConfig,
  parsePortList,
  removeProxyInit,
} from '../platform/kubernetes/proxy-init/index.ts';

const USAGE = `usage: proxy-init [--inbound-port 4143] [--outbound-port 4140] [--proxy-uid 2102]
  [--skip-inbound-ports LIST] [--skip-outbound-ports LIST] [--proxy-ports 4190,4191]
  [--iptables PROGRAM] [--ipv6] [--ip6tables PROGRAM] [--remove]
`;

function port(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 65535) {
    throw new StraitError('E_USAGE', `--${flag}: "${text}" is not a port between 1 and 65535`);
  }
  return value;
}

function configFrom(values: Record<string, string | boolean | undefined>): ProxyInitConfig {
  const defaults = defaultProxyInitConfig();
  const text = (name: string) => values[name] as string | undefined;
  const uid = text('proxy-uid');
  if (uid !== undefined && !/^\d+$/.test(uid)) {
    throw new StraitError('E_USAGE', `--proxy-uid: "${uid}" is not a numeric UID`);
  }
  return {
    inboundPort: port(text('inbound-port'), 'inbound-port', defaults.inboundPort),
    outboundPort: port(text('outbound-port'), 'outbound-port', defaults.outboundPort),
    proxyUid: uid === undefined ? defaults.proxyUid : Number(uid),
    skipInboundPorts: parsePortList(text('skip-inbound-ports') ?? '', '--skip-inbound-ports'),
    skipOutboundPorts: parsePortList(text('skip-outbound-ports') ?? '', '--skip-outbound-ports'),
    proxyPorts: parsePortList(text('proxy-ports') ?? '4190,4191', '--proxy-ports').flatMap((r) =>
      Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i),
    ),
  };
}

let values: Record<string, string | boolean | undefined>;
try {
  const options = {
    'inbound-port': { type: 'string' },
    'outbound-port': { type: 'string' },
    'proxy-uid': { type: 'string' },
    'skip-inbound-ports': { type: 'string' },
    'skip-outbound-ports': { type: 'string' },
    'proxy-ports': { type: 'string' },
    iptables: { type: 'string' },
    ipv6: { type: 'boolean' },
    ip6tables: { type: 'string' },
    remove: { type: 'boolean' },
  } as const;
  values = parseArgs({ options, allowPositionals: false }).values;
} catch (error) {
  process.stderr.write(`proxy-init: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

try {
  // The same rules apply to IPv6 through ip6tables, when asked for.
  const programs = [
    (values.iptables as string | undefined) ?? 'iptables',
    ...(values.ipv6 ? [(values.ip6tables as string | undefined) ?? 'ip6tables'] : []),
  ];
  if (values.remove) {
    for (const program of programs) await removeProxyInit(iptablesRunner(program));
    process.stdout.write('proxy-init: rules removed\n');
  } else {
    const config = configFrom(values);
    for (const program of programs) {
      const applied = await applyProxyInit(config, iptablesRunner(program));
      for (const args of applied) process.stdout.write(`${program} ${args.join(' ')}\n`);
    }
    process.stdout.write(
      `proxy-init: inbound → ${config.inboundPort}, outbound → ${config.outboundPort}, UID ${config.proxyUid} bypasses\n`,
    );
  }
} catch (error) {
  process.stderr.write(`proxy-init: ${describeError(error)}\n`);
  if (error instanceof StraitError && error.hint) process.stderr.write(`hint: ${error.hint}\n`);
  const usage = error instanceof StraitError && ['E_USAGE', 'E_PORT_LIST'].includes(error.code);
  process.exit(usage ? 2 : 1);
}

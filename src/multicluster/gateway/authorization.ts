import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { StraitError } from '../../core/errors.ts';

/** Who may use a gateway. */
export interface GatewayAuthorizationSpec {
  /**
   * Client identities allowed: exact names, `*.suffix` for any identity ending
   * in `.suffix`, or `*` for any meshed client (the default).
   */
  identities?: string[];
  /** Source networks allowed, as CIDRs; default every address. */
  networks?: string[];
}

/** A gateway authorization setting that cannot be used. */
export class GatewayConfigError extends StraitError {
  constructor(message: string, hint?: string) {
    super('E_GATEWAY_CONFIG', message, hint === undefined ? {} : { hint });
    this.name = 'GatewayConfigError';
  }
}

/** Decides whether a verified client from an address may cross the gateway. */
export interface GatewayAuthorization {
  /** Why the client is refused, or undefined when it is allowed. */
  check(clientIdentity: string, remoteAddress: string | undefined): string | undefined;
}

export function gatewayAuthorization(spec: GatewayAuthorizationSpec = {}): GatewayAuthorization {
  const identities = spec.identities?.length ? spec.identities : ['*'];
  const anyone = identities.includes('*');
  const exact = new Set(identities.filter((i) => !i.startsWith('*')));
  const suffixes = identities.filter((i) => i.startsWith('*.')).map((i) => i.slice(1));
  let networks: BlockList | undefined;
  if (spec.networks?.length) {
    networks = new BlockList();
    for (const cidr of spec.networks) addNetwork(networks, cidr);
  }
  return {
    check(clientIdentity, remoteAddress) {
      if (!anyone && !exact.has(clientIdentity) && !suffixes.some((s) => clientIdentity.endsWith(s))) {
        return `client identity ${clientIdentity} is not allowed`;
      }
      if (networks) {
        const address = unmapped(remoteAddress ?? '');
        const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
        if (!type || !networks.check(address, type))
          return `source address ${remoteAddress} is not in an allowed network`;
      }
      return undefined;
    },
  };
}

function addNetwork(list: BlockList, cidr: string): void {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  const address = match?.[1] ?? '';
  const prefix = Number(match?.[2]);
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!match || !type || prefix > (type === 'ipv4' ? 32 : 128)) {
    throw new GatewayConfigError(
      `allowed network "${cidr}" is not a CIDR`,
      'write networks as 10.0.0.0/8 or fd00::/8',
    );
  }
  list.addSubnet(address, prefix, type);
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

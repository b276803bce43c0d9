import net from 'node:net';
import { ProxyConfigError } from '../errors.ts';

/** Who may connect, per inbound port; mirrors proto/strait/policy/v1. */
export type Authentication =
  | { kind: 'unauthenticated' }
  | { kind: 'meshTls' }
  | { kind: 'identities'; identities: string[]; suffixes: string[] };

export interface Authorization {
  name: string;
  /** CIDRs with exceptions; empty admits every network. */
  networks: Array<{ net: string; except?: string[] }>;
  authentication: Authentication;
}

export interface PortPolicy {
  /** Server name, or "default:<policy>". */
  name: string;
  authorizations: Authorization[];
  /** Skip protocol detection for plaintext clients on this port. */
  opaque?: boolean;
}

/** What is known about a client when it is admitted. */
export interface ClientFacts {
  /** Verified (or trusted-forwarded) identity; undefined without mTLS. */
  identity: string | undefined;
  address: string;
}

/** Admits everyone, with or without mTLS: the policy when none is configured. */
export const ALL_UNAUTHENTICATED: PortPolicy = {
  name: 'default:all-unauthenticated',
  authorizations: [
    { name: 'all-unauthenticated', networks: [], authentication: { kind: 'unauthenticated' } },
  ],
};

/** Returns the first authorization that admits the client, or undefined to refuse it. */
export function authorize(policy: PortPolicy, client: ClientFacts): Authorization | undefined {
  for (const authorization of policy.authorizations) {
    if (!networkMatches(authorization.networks, client.address)) continue;
    const auth = authorization.authentication;
    if (auth.kind === 'unauthenticated') return authorization;
    if (client.identity === undefined) continue;
    if (auth.kind === 'meshTls') return authorization;
    if (auth.identities.includes(client.identity) || auth.identities.includes('*')) return authorization;
    if (
      auth.suffixes.some((suffix) =>
        client.identity?.endsWith(suffix.startsWith('.') ? suffix : `.${suffix}`),
      )
    ) {
      return authorization;
    }
  }
  return undefined;
}

const blockLists = new WeakMap<object, { include: net.BlockList; exclude: net.BlockList }>();

function networkMatches(networks: Authorization['networks'], address: string): boolean {
  if (networks.length === 0) return true;
  let lists = blockLists.get(networks);
  if (!lists) {
    lists = { include: new net.BlockList(), exclude: new net.BlockList() };
    for (const network of networks) {
      addCidr(lists.include, network.net);
      for (const except of network.except ?? []) addCidr(lists.exclude, except);
    }
    blockLists.set(networks, lists);
  }
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  const family = net.isIPv6(plain) ? 'ipv6' : 'ipv4';
  return lists.include.check(plain, family) && !lists.exclude.check(plain, family);
}

function addCidr(list: net.BlockList, cidr: string): void {
  const [ip, bits] = cidr.split('/');
  const family = net.isIPv6(ip ?? '') ? 'ipv6' : net.isIPv4(ip ?? '') ? 'ipv4' : undefined;
  const prefix = bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits);
  if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv6' ? 128 : 32)) {
    throw new ProxyConfigError(
      `network "${cidr}" is not a CIDR`,
      'write networks like 10.0.0.0/8 or fd00::/8',
    );
  }
  list.addSubnet(ip as string, prefix, family);
}

/** Refuses everyone: used while a port's policy cannot be learned. */
export const DENY_ALL: PortPolicy = { name: 'default:deny', authorizations: [] };

/**
 * Policies per inbound port, replaced live by static config or the policy
 * service. With a `discover` hook, the first connection to a port starts a
 * watch and waits (up to `waitMs`) for its first policy; a port whose policy
 * cannot be learned refuses everyone.
 */
export class PolicyStore {
  readonly #ports = new Map<number, PortPolicy>();
  readonly #pending = new Map<number, Array<() => void>>();
  #fallback: PortPolicy;
  readonly #discover: ((port: number, store: PolicyStore) => void) | undefined;
  readonly #waitMs: number;

  constructor(
    options: {
      fallback?: PortPolicy;
      discover?: (port: number, store: PolicyStore) => void;
      waitMs?: number;
    } = {},
  ) {
    this.#fallback = options.fallback ?? ALL_UNAUTHENTICATED;
    this.#discover = options.discover;
    this.#waitMs = options.waitMs ?? 3000;
  }

  /** The policy of `port`, once known. */
  async get(port: number): Promise<PortPolicy> {
    const known = this.#ports.get(port);
    if (known || !this.#discover) return known ?? this.#fallback;
    let waiters = this.#pending.get(port);
    if (!waiters) {
      waiters = [];
      this.#pending.set(port, waiters);
      this.#discover(port, this);
    }
    const list = waiters;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#waitMs);
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#ports.get(port) ?? DENY_ALL;
  }

  set(port: number, policy: PortPolicy): void {
    this.#ports.set(port, policy);
    for (const wake of this.#pending.get(port) ?? []) wake();
    this.#pending.delete(port);
  }

  setDefault(policy: PortPolicy): void {
    this.#fallback = policy;
  }
}

import type { Client } from '@connectrpc/connect';
import type { InboundPolicyService, Server } from '../../gen/strait/policy/v1/policy_pb.js';
import type { Logger } from '../log.ts';
import type { Authentication, PolicyStore, PortPolicy } from './authorize.ts';

/**
 * Returns a `discover` hook for PolicyStore that watches a port's policy on
 * the policy service (WatchPort) and keeps the store current, re-opening the
 * stream after failures; the last known policy stays in force meanwhile.
 */
export function watchPolicyService(
  client: Client<typeof InboundPolicyService>,
  workload: string,
  log: Logger,
  signal: AbortSignal,
): (port: number, store: PolicyStore) => void {
  return (port, store) => {
    const run = async () => {
      while (!signal.aborted) {
        try {
          for await (const server of client.watchPort({ workload, port }, { signal }))
            store.set(port, fromProto(server));
        } catch (error) {
          if (signal.aborted) return;
          log.warn('policy stream failed; keeping the last policy', {
            port,
            error: (error as Error).message,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      }
    };
    void run();
  };
}

/** Converts the policy service's Server message into a PortPolicy. */
export function fromProto(server: Server): PortPolicy {
  return {
    name: server.name,
    opaque: server.protocol?.kind.case === 'opaque',
    authorizations: server.authorizations.map((a) => ({
      name: a.name,
      networks: a.networks.map((n) => ({ net: n.net, except: n.except })),
      authentication: authenticationOf(a.authentication?.permit),
    })),
  };
}

function authenticationOf(
  permit: NonNullable<Server['authorizations'][number]['authentication']>['permit'] | undefined,
): Authentication {
  switch (permit?.case) {
    case 'unauthenticated':
      return { kind: 'unauthenticated' };
    case 'meshTlsAny':
      return { kind: 'meshTls' };
    case 'meshTls':
      return { kind: 'identities', identities: permit.value.identities, suffixes: permit.value.suffixes };
    default:
      // An authorization we cannot read admits nobody.
      return { kind: 'identities', identities: [], suffixes: [] };
  }
}

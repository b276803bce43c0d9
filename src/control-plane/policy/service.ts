import { equals } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { StraitError } from '../../core/errors.ts';
import {
  InboundPolicyService,
  type PortSpec,
  type Server,
  ServerSchema,
} from '../../gen/strait/policy/v1/policy_pb.js';
import { type Subscription, valuesOf, WatchRegistry } from '../destination/watch-registry.ts';
import { type PolicyOptions, resolvePortPolicy } from './resolve.ts';
import type { PolicyState } from './state.ts';

/** A WatchPort request that names no workload port. */
export class InvalidPortSpecError extends StraitError {
  constructor(spec: { workload: string; port: number }, reason: string) {
    super('E_POLICY_PORT_SPEC', `policy for "${spec.workload}" port ${spec.port}: ${reason}`, {
      hint: 'ask for workload "<namespace>/<name>" and a port between 1 and 65535',
    });
    this.name = 'InvalidPortSpecError';
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Splits `namespace/name` and checks the port. */
export function parsePortSpec(spec: { workload: string; port: number }): {
  namespace: string;
  name: string;
  port: number;
} {
  const [namespace, name, extra] = spec.workload.split('/');
  if (extra !== undefined || !namespace || !name || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
    throw new InvalidPortSpecError(spec, 'workload must be <namespace>/<name>');
  }
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) {
    throw new InvalidPortSpecError(spec, 'port must be between 1 and 65535');
  }
  return { namespace, name, port: spec.port };
}

/** Policy watches: one per workload port, shared by every stream asking for it. */
export class PolicyWatches {
  readonly registry = new WatchRegistry<Server>();
  readonly #state: PolicyState;
  readonly #options: PolicyOptions;

  constructor(state: PolicyState, options: PolicyOptions) {
    this.#state = state;
    this.#options = options;
  }

  invalidate(dependencies: Iterable<string>): void {
    this.registry.invalidate(dependencies);
  }

  watch(namespace: string, name: string, port: number): Subscription<Server> {
    return this.registry.subscribe(
      `${namespace}/${name}:${port}`,
      () => ({
        value: resolvePortPolicy(
          this.#state.workload(namespace, name),
          port,
          this.#state.namespace(namespace),
          this.#options,
        ),
        dependencies: [`workload:${namespace}/${name}`, `ns:${namespace}`],
      }),
      (a, b) => equals(ServerSchema, a, b),
    );
  }
}

/** The InboundPolicy gRPC service over shared watches. */
export function policyServiceImpl(watches: PolicyWatches): ServiceImpl<typeof InboundPolicyService> {
  return {
    async *watchPort(request: PortSpec, context: HandlerContext) {
      let spec: ReturnType<typeof parsePortSpec>;
      try {
        spec = parsePortSpec(request);
      } catch (error) {
        if (!(error instanceof InvalidPortSpecError)) throw error;
        throw new ConnectError(`${error.message} (${error.code})`, Code.InvalidArgument);
      }
      yield* valuesOf(watches.watch(spec.namespace, spec.name, spec.port), context.signal);
    },
  };
}

export { InboundPolicyService };

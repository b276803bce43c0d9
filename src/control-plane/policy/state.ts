import type { Workload } from '../../core/api/local.ts';
import type {
  AuthorizationPolicy,
  MeshTLSAuthentication,
  NetworkAuthentication,
  Server,
} from '../../core/api/policy.ts';
import type { Resource } from '../../core/resource.ts';
import { describeWorkload, type Pod, type WorkloadInfo, workloadKey } from '../destination/workloads.ts';
import type { NamespacePolicy } from './resolve.ts';

/** Kinds the policy service reads. */
export const POLICY_KINDS = [
  'Workload',
  'Pod',
  'Server',
  'AuthorizationPolicy',
  'MeshTLSAuthentication',
  'NetworkAuthentication',
] as const;

/** The policy service's view of a cluster: workloads by name and policy resources by namespace. */
export class PolicyState {
  /** The informer's own objects, described on use. */
  readonly #workloads = new Map<string, Workload | Pod>();
  readonly #namespaces = new Map<string, NamespacePolicy>();

  /** The Workload (local platform) or Pod (Kubernetes) `namespace/name`. */
  workload(namespace: string, name: string): WorkloadInfo | undefined {
    const object =
      this.#workloads.get(workloadKey('Workload', namespace, name)) ??
      this.#workloads.get(workloadKey('Pod', namespace, name));
    return object && describeWorkload(object);
  }

  namespace(namespace: string): NamespacePolicy | undefined {
    return this.#namespaces.get(namespace);
  }

  /** Applies an added or modified object (`deleted` false) or a deleted one; returns the dependency keys it touched. */
  apply(object: Resource, deleted: boolean): string[] {
    const namespace = object.metadata.namespace ?? 'default';
    const name = object.metadata.name;
    if (object.kind === 'Workload' || object.kind === 'Pod') {
      const key = workloadKey(object.kind, namespace, name);
      if (deleted) this.#workloads.delete(key);
      else this.#workloads.set(key, object as Workload | Pod);
      return [`workload:${namespace}/${name}`];
    }
    const policy = this.#policyOf(namespace);
    switch (object.kind) {
      case 'Server':
        policy.servers = replace(policy.servers, object as Server, deleted);
        break;
      case 'AuthorizationPolicy':
        policy.authorizationPolicies = replace(
          policy.authorizationPolicies,
          object as AuthorizationPolicy,
          deleted,
        );
        break;
      case 'MeshTLSAuthentication':
        if (deleted) policy.meshTLSAuthentications.delete(name);
        else policy.meshTLSAuthentications.set(name, object as MeshTLSAuthentication);
        break;
      case 'NetworkAuthentication':
        if (deleted) policy.networkAuthentications.delete(name);
        else policy.networkAuthentications.set(name, object as NetworkAuthentication);
        break;
      default:
        return [];
    }
    return [`ns:${namespace}`];
  }

  #policyOf(namespace: string): NamespacePolicy {
    let policy = this.#namespaces.get(namespace);
    if (!policy) {
      policy = {
        servers: [],
        authorizationPolicies: [],
        meshTLSAuthentications: new Map(),
        networkAuthentications: new Map(),
      };
      this.#namespaces.set(namespace, policy);
    }
    return policy;
  }
}

function replace<T extends Resource>(list: T[], object: T, deleted: boolean): T[] {
  const rest = list.filter((o) => o.metadata.name !== object.metadata.name);
  return deleted ? rest : [...rest, object];
}

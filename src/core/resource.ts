/**
 * Kubernetes-shaped resources, the same on every platform. Core kinds that
 * have no `spec` (Endpoints, Secret, ConfigMap) keep their own top-level
 * fields, hence the index signature.
 */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

export interface Resource<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  [field: string]: unknown;
}

/** Identifies a kind: `{ apiVersion: 'v1', kind: 'Service' }`. */
export interface KindRef {
  apiVersion: string;
  kind: string;
}

/** Identifies one object of a kind. `namespace` is absent for cluster-scoped kinds. */
export interface ObjectRef extends KindRef {
  name: string;
  namespace?: string;
}

export function kindKey(ref: KindRef): string {
  return `${ref.apiVersion}/${ref.kind}`;
}

export function objectKey(ref: { namespace?: string | undefined; name: string }): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

export function refOf(resource: Resource): ObjectRef {
  const ref: ObjectRef = {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    name: resource.metadata.name,
  };
  if (resource.metadata.namespace) ref.namespace = resource.metadata.namespace;
  return ref;
}

/** The `group` of an apiVersion: '' for the core group ('v1'). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

export function describeRef(ref: Partial<ObjectRef> & KindRef): string {
  const name = ref.name ? (ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name) : '';
  return name ? `${ref.kind} ${name}` : ref.kind;
}

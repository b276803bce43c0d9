import { DNS1123_LABEL, IANA_SVC_NAME, IP, QUALIFIED_NAME } from './patterns.ts';
import type { Schema } from './schema.ts';
import { array, boolean, integer, intOrString, map, object, opaque, resource, string } from './schema.ts';

const port = () => integer({ minimum: 1, maximum: 65535 });
const protocol = () => string({ enum: ['TCP', 'UDP', 'SCTP'], default: 'TCP' });
const portName = () => string({ pattern: IANA_SVC_NAME, maxLength: 15 });

export const NamespaceSchema: Schema = resource({
  spec: object({ finalizers: array(string(), { 'x-kubernetes-list-type': 'set' }) }),
  status: object({ phase: string({ enum: ['Active', 'Terminating'] }) }),
});

export const ServiceAccountSchema: Schema = resource({
  secrets: array(object({ name: string(), namespace: string() })),
  automountServiceAccountToken: boolean(),
});

export const ServiceSchema: Schema = resource(
  {
    spec: object(
      {
        selector: map(string()),
        ports: array(
          object(
            {
              name: portName(),
              port: port(),
              targetPort: intOrString({ description: 'Number, or the name of a workload port.' }),
              protocol: protocol(),
              appProtocol: string(),
              nodePort: integer({ minimum: 1, maximum: 65535 }),
            },
            ['port'],
          ),
          { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['port', 'protocol'] },
        ),
        clusterIP: string({ description: '`None` for headless services.' }),
        clusterIPs: array(string()),
        type: string({ enum: ['ClusterIP', 'NodePort', 'LoadBalancer'], default: 'ClusterIP' }),
        sessionAffinity: string({ enum: ['None', 'ClientIP'] }),
        publishNotReadyAddresses: boolean(),
        ipFamilies: array(string({ enum: ['IPv4', 'IPv6'] })),
        ipFamilyPolicy: string(),
        internalTrafficPolicy: string({ enum: ['Cluster', 'Local'] }),
      },
      ['ports'],
    ),
    status: object({
      loadBalancer: object({ ingress: array(object({ ip: string({ pattern: IP }), hostname: string() })) }),
    }),
  },
  ['spec'],
);

const endpointAddress = () =>
  object(
    {
      ip: string({ pattern: IP }),
      hostname: string({ pattern: DNS1123_LABEL, maxLength: 63 }),
      nodeName: string(),
      targetRef: object(
        {
          apiVersion: string(),
          kind: string(),
          name: string(),
          namespace: string(),
          uid: string(),
          resourceVersion: string(),
          fieldPath: string(),
        },
        ['kind', 'name'],
      ),
    },
    ['ip'],
  );

export const EndpointsSchema: Schema = resource({
  subsets: array(
    object({
      addresses: array(endpointAddress()),
      notReadyAddresses: array(endpointAddress()),
      ports: array(
        object({ name: portName(), port: port(), protocol: protocol(), appProtocol: string() }, ['port']),
      ),
    }),
  ),
});

export const SecretSchema: Schema = resource({
  type: string({ maxLength: 253 }),
  data: map(string({ pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'Base64-encoded values.' })),
  stringData: map(string()),
  immutable: boolean(),
});

export const ConfigMapSchema: Schema = resource({
  data: map(string()),
  binaryData: map(string({ pattern: '^[A-Za-z0-9+/]*={0,2}$' })),
  immutable: boolean(),
});

export const EventSchema: Schema = resource(
  {
    involvedObject: object(
      {
        apiVersion: string(),
        kind: string(),
        name: string(),
        namespace: string(),
        uid: string(),
        resourceVersion: string(),
        fieldPath: string(),
      },
      ['kind', 'name'],
    ),
    reason: string({ minLength: 1, maxLength: 128 }),
    message: string({ maxLength: 4096 }),
    type: string({ enum: ['Normal', 'Warning'] }),
    count: integer({ minimum: 1 }),
    firstTimestamp: string(),
    lastTimestamp: string(),
    source: object({ component: string(), host: string() }),
    reportingComponent: string(),
    reportingInstance: string(),
  },
  ['involvedObject', 'reason', 'message', 'type'],
);

/** Pods come from Kubernetes; the local platform runs Workloads instead, so their content is kept as is. */
export const PodSchema: Schema = resource({ spec: opaque(), status: opaque() });

/** Label selectors as in `metav1.LabelSelector`. */
export function labelSelector(): Schema {
  return object({
    matchLabels: map(string()),
    matchExpressions: array(
      object(
        {
          key: string({ pattern: QUALIFIED_NAME }),
          operator: string({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
          values: array(string()),
        },
        ['key', 'operator'],
      ),
    ),
  });
}

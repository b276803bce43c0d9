import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KindName } from '../kinds.ts';
import { Kinds } from '../kinds.ts';
import type { Resource } from '../resource.ts';
import type { Schema } from './index.ts';
import { defaulted, Schemas, schemaFor, validateResource, validateValue } from './index.ts';

const KEYWORDS = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'additionalProperties',
  'enum',
  'pattern',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'default',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
]);

/** Reasons `schema` could not be a structural CRD schema. */
function structuralProblems(schema: Schema, path: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(schema)) if (!KEYWORDS.has(key)) problems.push(`${path}: keyword ${key}`);
  const typed = schema.type !== undefined || schema['x-kubernetes-int-or-string'];
  if (!typed) problems.push(`${path}: no type`);
  if (schema.properties && schema.additionalProperties)
    problems.push(`${path}: properties and additionalProperties`);
  if (schema.type === 'array' && !schema.items) problems.push(`${path}: array without items`);
  if (schema['x-kubernetes-list-type'] === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    if (keys.length === 0) problems.push(`${path}: map list without x-kubernetes-list-map-keys`);
    for (const key of keys) {
      const field = schema.items?.properties?.[key];
      if (!field || (!schema.items?.required?.includes(key) && field.default === undefined))
        problems.push(`${path}: list map key ${key} is neither required nor defaulted`);
    }
  }
  for (const name of schema.required ?? []) {
    if (!schema.properties?.[name]) problems.push(`${path}: required ${name} is not a property`);
  }
  if (schema.default !== undefined) {
    for (const error of validateValue(schema, schema.default, path))
      problems.push(`${path}: default ${error.reason}`);
  }
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    problems.push(...structuralProblems(child, `${path}.${name}`));
  }
  if (schema.items) problems.push(...structuralProblems(schema.items, `${path}[]`));
  if (schema.additionalProperties)
    problems.push(...structuralProblems(schema.additionalProperties, `${path}{}`));
  return problems;
}

const meta = (name: string, namespace: string | undefined = 'default') =>
  namespace ? { name, namespace } : { name };

/** One valid object per kind, in the shapes src/core/api describes. */
const EXAMPLES: Record<KindName, Resource> = {
  Namespace: {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: meta('team', undefined),
    status: { phase: 'Active' },
  },
  ServiceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('web') },
  Service: {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('web'),
    spec: {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', appProtocol: 'http' }],
      clusterIP: 'None',
    },
  },
  Endpoints: {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: meta('web'),
    subsets: [
      {
        addresses: [{ ip: '127.0.0.2', hostname: 'web-0', targetRef: { kind: 'Workload', name: 'web-0' } }],
        notReadyAddresses: [{ ip: 'fd00::1' }],
        ports: [{ name: 'http', port: 8080 }],
      },
    ],
  },
  Secret: { apiVersion: 'v1', kind: 'Secret', metadata: meta('creds'), type: 'Opaque', data: { a: 'aGk=' } },
  ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('settings'), data: { a: 'b' } },
  Event: {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: meta('web.1'),
    involvedObject: { apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'default' },
    reason: 'Synced',
    message: 'ok',
    type: 'Normal',
    count: 1,
  },
  Pod: { apiVersion: 'v1', kind: 'Pod', metadata: meta('web-0'), spec: { containers: [] } },
  Workload: {
    apiVersion: 'local.strait.io/v1alpha1',
    kind: 'Workload',
    metadata: meta('web-0'),
    spec: {
      serviceAccountName: 'web',
      command: ['node', 'app.js'],
      ports: [{ name: 'http', port: 8080 }],
      readinessPath: '/ready',
      address: '127.0.0.2',
      proxy: { inboundPort: 4143, outboundPort: 4140, adminPort: 4191 },
    },
    status: { phase: 'Running', ready: true, pid: 10 },
  },
  Link: {
    apiVersion: 'multicluster.strait.io/v1alpha1',
    kind: 'Link',
    metadata: meta('east', 'strait-multicluster'),
    spec: {
      targetClusterName: 'east',
      clusterCredentialsSecret: 'cluster-credentials-east',
      gatewayAddress: '127.0.1.1',
      gatewayIdentity: 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local',
      selector: { matchLabels: { 'mirror.strait.io/exported': 'true' } },
    },
  },
  TrafficSplit: {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: meta('web'),
    spec: {
      service: 'web',
      backends: [
        { service: 'web', weight: 90 },
        { service: 'web-east', weight: 10 },
      ],
    },
  },
  HTTPRoute: {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: meta('web'),
    spec: {
      parentRefs: [{ kind: 'Service', group: 'core', name: 'web', port: 80 }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], timeouts: { request: '5s' } }],
    },
  },
  Server: {
    apiVersion: 'policy.strait.io/v1beta1',
    kind: 'Server',
    metadata: meta('web-http'),
    spec: { podSelector: { matchLabels: { app: 'web' } }, port: 'http', proxyProtocol: 'HTTP/1' },
  },
  AuthorizationPolicy: {
    apiVersion: 'policy.strait.io/v1alpha1',
    kind: 'AuthorizationPolicy',
    metadata: meta('web'),
    spec: {
      targetRef: { group: 'policy.strait.io', kind: 'Server', name: 'web-http' },
      requiredAuthenticationRefs: [{ kind: 'MeshTLSAuthentication', name: 'clients' }],
    },
  },
  MeshTLSAuthentication: {
    apiVersion: 'policy.strait.io/v1alpha1',
    kind: 'MeshTLSAuthentication',
    metadata: meta('clients'),
    spec: { identities: ['*.east.example'] },
  },
  NetworkAuthentication: {
    apiVersion: 'policy.strait.io/v1alpha1',
    kind: 'NetworkAuthentication',
    metadata: meta('local'),
    spec: { networks: [{ cidr: '127.0.0.0/8', except: ['127.0.0.9/32'] }, { cidr: 'fd00::/8' }] },
  },
  Role: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta('reader'),
    rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['services'] }],
  },
  RoleBinding: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta('reader'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'mirror', namespace: 'default' }],
  },
  ClusterRole: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta('system:reader', undefined),
    rules: [{ verbs: ['*'] }],
  },
  ClusterRoleBinding: {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta('reader', undefined),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:reader' },
  },
};

const fields = (object: Resource) => validateResource(object).map((e) => `${e.field}: ${e.reason}`);

describe('schemas', { timeout: 120_000 }, () => {
  it('cover every registered kind, each a structural CRD schema', () => {
    for (const name of Object.keys(Kinds) as KindName[]) {
      const schema = schemaFor(Kinds[name]);
      assert.ok(schema, `${name} has a schema`);
      assert.deepEqual(structuralProblems(schema, name), []);
      assert.doesNotMatch(JSON.stringify(schema), /\$ref/);
    }
    assert.deepEqual(Object.keys(Schemas).sort(), Object.keys(Kinds).sort());
  });

  it('accept a valid object of every kind', () => {
    for (const [name, example] of Object.entries(EXAMPLES)) {
      assert.deepEqual(fields(defaulted(example)), [], name);
    }
  });

  it('name the field and the reason, Kubernetes-style', () => {
    const service = structuredClone(EXAMPLES.Service);
    const spec = service.spec as { ports: Record<string, unknown>[]; typo?: boolean };
    spec.ports.push({ port: 70000, protocol: 'ICMP', targetPort: 1.5 });
    spec.typo = true;
    assert.deepEqual(fields(service), [
      'spec.ports[1].port: must be between 1 and 65535 (got 70000)',
      'spec.ports[1].protocol: must be one of: TCP, UDP, SCTP (got "ICMP")',
      'spec.ports[1].targetPort: must be an integer or a string (got 1.5)',
      'spec.typo: is not a known field',
    ]);
    const split = structuredClone(EXAMPLES.TrafficSplit);
    split.spec = { backends: [] };
    assert.deepEqual(fields(split), [
      'spec.service: is required',
      'spec.backends: must have at least 1 item',
    ]);
  });

  it('check metadata: names by kind, labels, annotations, finalizers, owner references', () => {
    const bad: Resource = {
      ...EXAMPLES.ConfigMap,
      metadata: {
        name: 'Not_Valid',
        namespace: 'default',
        labels: { 'app.kubernetes.io/name': 'ok', 'bad key!': 'x', long: 'v'.repeat(64) },
        annotations: { 'strait.io/x': 'any value at all' },
        finalizers: ['strait.io/cleanup', '-bad'],
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Service', name: 'a', uid: '1', controller: true },
          { apiVersion: 'v1', kind: 'Service', name: 'b', uid: '', controller: true },
        ],
      },
    };
    assert.deepEqual(
      validateResource(bad).map((e) => e.field),
      [
        'metadata.name',
        'metadata.labels[bad key!]',
        'metadata.labels[long]',
        'metadata.finalizers[1]',
        'metadata.ownerReferences[1].uid',
        'metadata.ownerReferences',
      ],
    );
    const service = { ...EXAMPLES.Service, metadata: meta('1web') };
    assert.match(fields(service)[0] ?? '', /^metadata\.name: must be a DNS-1035 label/);
    const namespace = { ...EXAMPLES.Namespace, metadata: meta('a.b', undefined) };
    assert.match(fields(namespace)[0] ?? '', /^metadata\.name: must be a DNS-1123 label/);
  });

  it('fill in defaults, nested ones included, without overriding what is set', () => {
    const link = defaulted(EXAMPLES.Link);
    const spec = link.spec as Record<string, unknown>;
    assert.equal(spec.gatewayPort, 4143);
    assert.equal(spec.targetClusterDomain, 'cluster.local');
    assert.deepEqual(spec.probeSpec, {
      path: '/ready',
      port: 4191,
      period: '3s',
      failureThreshold: 3,
      timeout: '2s',
    });
    const custom = defaulted({
      ...EXAMPLES.Link,
      spec: { ...(EXAMPLES.Link.spec as object), gatewayPort: 5000 },
    });
    assert.equal((custom.spec as Record<string, unknown>).gatewayPort, 5000);
    assert.equal(
      (EXAMPLES.Link.spec as Record<string, unknown>).gatewayPort,
      undefined,
      'the input is unchanged',
    );
  });

  it('reject values of the wrong type without throwing', () => {
    const weird = { ...EXAMPLES.Service, spec: 'not an object' } as unknown as Resource;
    assert.deepEqual(fields(weird), ['spec: must be an object (got "not an object")']);
    assert.deepEqual(fields({ ...EXAMPLES.Namespace, kind: 'Nope' }), [
      'kind: Nope of apiVersion v1 is not a known kind',
    ]);
  });
});

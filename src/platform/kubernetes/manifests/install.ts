import type { Resource } from '../../../core/resource.ts';
import { customResourceDefinitions } from '../crds.ts';
import { KUBERNETES_IDENTITY_AUDIENCE } from '../token-review-validator.ts';
import { base64, clusterRoleFor, object, partOf, roleFor } from './objects.ts';
import {
  COMPONENTS,
  type ComponentName,
  entryCommand,
  ISSUER_SECRET,
  type MeshSettings,
  TRUST_ROOTS_CONFIGMAP,
  TRUST_ROOTS_KEY,
} from './settings.ts';

/** The injector's webhook serving certificate, and the CA the API server trusts it by. */
export const INJECTOR_TLS_SECRET = 'strait-proxy-injector-tls';
/** The MutatingWebhookConfiguration's name (cluster-scoped, so it carries the namespace). */
export function injectorWebhookName(controlPlaneNamespace: string): string {
  return `${controlPlaneNamespace}-proxy-injector-webhook-config`;
}
/** Namespaces labelled so are never sent to the injector (the control plane's own is). */
export const ADMISSION_WEBHOOKS_LABEL = 'config.strait.io/admission-webhooks';

/** Where the components find their mounted material. */
export const MOUNTS = {
  issuer: '/var/run/strait/identity/issuer',
  trustRoots: '/var/run/strait/identity/trust-roots',
  injectorTls: '/var/run/strait/injector/tls',
  /** Destination's and policy's projected token, their credential for their own serving certificates. */
  identityToken: '/var/run/strait/identity/token',
  tmp: '/tmp',
} as const;

/** Everything the install needs: settings, PEM material (already validated), the version. */
export interface InstallInput {
  settings: MeshSettings;
  version: string;
  /** The trust bundle: one or more anchors. */
  trustAnchorsPem: string;
  issuer: { certPem: string; keyPem: string };
  injectorTls: { caPem: string; certPem: string; keyPem: string };
}

/** Control-plane components run as this UID (never the proxy's, which iptables lets through). */
export const CONTROL_PLANE_UID = 2103;

const READ_WATCH = ['get', 'list', 'watch'];

/**
 * The control plane as objects, in the order `kubectl apply` should create
 * them: namespace, CRDs, accounts and RBAC, configuration, workloads, then
 * the webhook that needs the injector running.
 */
export function renderInstall(input: InstallInput): Resource[] {
  const { settings } = input;
  const ns = settings.controlPlaneNamespace;
  return [
    namespace(ns),
    ...customResourceDefinitions(),
    ...(Object.keys(COMPONENTS) as ComponentName[]).map((c) =>
      object('v1', 'ServiceAccount', COMPONENTS[c].name, ns, {}, COMPONENTS[c].name),
    ),
    ...rbac(ns),
    object('v1', 'ConfigMap', TRUST_ROOTS_CONFIGMAP, ns, {
      data: { [TRUST_ROOTS_KEY]: input.trustAnchorsPem },
    }),
    object('v1', 'Secret', ISSUER_SECRET, ns, {
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': base64(input.issuer.certPem), 'tls.key': base64(input.issuer.keyPem) },
    }),
    object('v1', 'Secret', INJECTOR_TLS_SECRET, ns, {
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': base64(input.injectorTls.certPem),
        'tls.key': base64(input.injectorTls.keyPem),
        'ca.crt': base64(input.injectorTls.caPem),
      },
    }),
    ...(Object.keys(COMPONENTS) as ComponentName[]).flatMap((c) => [
      deployment(input, c),
      service(settings, c),
    ]),
    webhookConfiguration(input),
  ];
}

function namespace(ns: string): Resource {
  const resource = object('v1', 'Namespace', ns, undefined, {});
  resource.metadata.labels = { ...resource.metadata.labels, [ADMISSION_WEBHOOKS_LABEL]: 'disabled' };
  resource.metadata.annotations = { 'strait.io/inject': 'disabled' };
  return resource;
}

function rbac(ns: string): Resource[] {
  const discovery = [
    { apiGroups: [''], resources: ['services', 'endpoints', 'pods', 'namespaces'], verbs: READ_WATCH },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ_WATCH },
    { apiGroups: ['split.smi-spec.io'], resources: ['trafficsplits'], verbs: READ_WATCH },
    { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: READ_WATCH },
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: ['httproutes/status'],
      verbs: ['patch', 'update'],
    },
    { apiGroups: ['multicluster.strait.io'], resources: ['links'], verbs: READ_WATCH },
  ];
  const policy = [
    { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: READ_WATCH },
    { apiGroups: ['policy.strait.io'], resources: ['servers'], verbs: READ_WATCH },
    {
      apiGroups: ['policy.strait.io'],
      resources: ['authorizationpolicies', 'meshtlsauthentications', 'networkauthentications'],
      verbs: READ_WATCH,
    },
  ];
  const events = { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] };
  return [
    ...clusterRoleFor(COMPONENTS.identity.name, ns, [
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      events,
    ]),
    ...clusterRoleFor(COMPONENTS.destination.name, ns, [...discovery, events]),
    ...clusterRoleFor(COMPONENTS.policy.name, ns, [...policy, events]),
    ...clusterRoleFor(COMPONENTS.injector.name, ns, [
      { apiGroups: [''], resources: ['namespaces'], verbs: READ_WATCH },
      events,
    ]),
    // The injector copies the trust anchors into each proxy it adds.
    ...roleFor(COMPONENTS.injector.name, ns, [
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [TRUST_ROOTS_CONFIGMAP], verbs: ['get'] },
    ]),
  ];
}

function deployment(input: InstallInput, component: ComponentName): Resource {
  const { settings } = input;
  const { name, port, entry } = COMPONENTS[component];
  const ns = settings.controlPlaneNamespace;
  const mounts: { name: string; mountPath: string; readOnly?: boolean }[] = [
    { name: 'tmp', mountPath: MOUNTS.tmp },
    { name: 'trust-roots', mountPath: MOUNTS.trustRoots, readOnly: true },
  ];
  const volumes: Record<string, unknown>[] = [
    { name: 'tmp', emptyDir: {} },
    { name: 'trust-roots', configMap: { name: TRUST_ROOTS_CONFIGMAP } },
  ];
  if (component === 'identity') {
    mounts.push({ name: 'issuer', mountPath: MOUNTS.issuer, readOnly: true });
    volumes.push({ name: 'issuer', secret: { secretName: ISSUER_SECRET } });
  }
  if (component === 'destination' || component === 'policy') {
    mounts.push({ name: 'identity-token', mountPath: MOUNTS.identityToken, readOnly: true });
    volumes.push({
      name: 'identity-token',
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: KUBERNETES_IDENTITY_AUDIENCE,
              expirationSeconds: 86_400,
              path: 'token',
            },
          },
        ],
      },
    });
  }
  if (component === 'injector') {
    mounts.push({ name: 'tls', mountPath: MOUNTS.injectorTls, readOnly: true });
    volumes.push({ name: 'tls', secret: { secretName: INJECTOR_TLS_SECRET } });
  }
  const env = [
    { name: 'STRAIT_CONTROL_PLANE_NAMESPACE', value: ns },
    { name: 'STRAIT_TRUST_DOMAIN', value: settings.trustDomain },
    { name: 'STRAIT_CLUSTER_DOMAIN', value: settings.clusterDomain },
    { name: 'STRAIT_LISTEN_ADDR', value: `0.0.0.0:${port}` },
    { name: 'STRAIT_TRUST_ANCHORS_FILE', value: `${MOUNTS.trustRoots}/${TRUST_ROOTS_KEY}` },
    ...(component === 'identity' ? [{ name: 'STRAIT_IDENTITY_ISSUER_DIR', value: MOUNTS.issuer }] : []),
    ...(component === 'injector'
      ? [
          { name: 'STRAIT_INJECTOR_TLS_DIR', value: MOUNTS.injectorTls },
          { name: 'STRAIT_IMAGE', value: settings.image },
          { name: 'STRAIT_PROXY_UID', value: String(settings.proxyUid) },
        ]
      : []),
    { name: 'NODE_COMPILE_CACHE', value: `${MOUNTS.tmp}/node-compile-cache` },
  ];
  const labels = { ...partOf(name), 'strait.io/control-plane-component': component };
  return object(
    'apps/v1',
    'Deployment',
    name,
    ns,
    {
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'strait.io/control-plane-component': component } },
        template: {
          metadata: { labels, annotations: { 'strait.io/inject': 'disabled' } },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: true,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: CONTROL_PLANE_UID,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: component,
                image: settings.image,
                imagePullPolicy: settings.imagePullPolicy,
                command: entryCommand(entry),
                env,
                ports: [
                  { name: component === 'injector' ? 'https' : 'grpc', containerPort: port, protocol: 'TCP' },
                ],
                readinessProbe: { tcpSocket: { port }, periodSeconds: 5 },
                livenessProbe: { tcpSocket: { port }, initialDelaySeconds: 10, periodSeconds: 10 },
                securityContext: {
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: mounts,
              },
            ],
            volumes,
          },
        },
      },
    },
    name,
  );
}

function service(settings: MeshSettings, component: ComponentName): Resource {
  const { name, port } = COMPONENTS[component];
  const servicePort =
    component === 'injector'
      ? { name: 'https', port: 443, targetPort: port, protocol: 'TCP' }
      : { name: 'grpc', port, targetPort: port, protocol: 'TCP' };
  return object(
    'v1',
    'Service',
    name,
    settings.controlPlaneNamespace,
    {
      spec: {
        type: 'ClusterIP',
        selector: { 'strait.io/control-plane-component': component },
        ports: [servicePort],
      },
    },
    name,
  );
}

function webhookConfiguration(input: InstallInput): Resource {
  const ns = input.settings.controlPlaneNamespace;
  return object(
    'admissionregistration.k8s.io/v1',
    'MutatingWebhookConfiguration',
    injectorWebhookName(ns),
    undefined,
    {
      webhooks: [
        {
          name: `proxy-injector.${ns}.strait.io`,
          clientConfig: {
            service: { name: COMPONENTS.injector.name, namespace: ns, path: '/inject', port: 443 },
            caBundle: base64(input.injectorTls.caPem),
          },
          rules: [
            {
              operations: ['CREATE'],
              apiGroups: [''],
              apiVersions: ['v1'],
              resources: ['pods'],
              scope: 'Namespaced',
            },
          ],
          namespaceSelector: {
            matchExpressions: [
              { key: ADMISSION_WEBHOOKS_LABEL, operator: 'NotIn', values: ['disabled'] },
              { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
            ],
          },
          // A pod is still created when the injector is down; `strait check` reports it.
          failurePolicy: 'Ignore',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 10,
        },
      ],
    },
    COMPONENTS.injector.name,
  );
}

import type { V1Container, V1Pod, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import { StraitError } from '../../../core/errors.ts';
import {
  componentAddress,
  componentIdentity,
  entryCommand,
  type MeshSettings,
} from '../manifests/settings.ts';
import { formatPortList, type PortRange, parsePortList } from '../proxy-init/ports.ts';
import { KUBERNETES_IDENTITY_AUDIENCE } from '../token-review-validator.ts';
import {
  type AnnotationName,
  CONTROL_PLANE_NS_LABEL,
  injectDecision,
  PROXY_VERSION_ANNOTATION,
  readAnnotation,
} from './annotations.ts';

export const PROXY_CONTAINER = 'strait-proxy';
export const INIT_CONTAINER = 'strait-init';
const TOKEN_VOLUME = 'strait-identity-token';
const XTABLES_VOLUME = 'strait-proxy-init-xtables-lock';
// The proxy's only writable place: Node's compile cache (faster starts, less memory).
const PROXY_TMP_VOLUME = 'strait-proxy-tmp';
const TOKEN_DIR = '/var/run/strait/identity/token';

export const PROXY_PORTS = { inbound: 4143, outbound: 4140, admin: 4191, tap: 4190 } as const;

// Kubernetes starts a pod's containers in order and waits for each postStart
// hook: the proxy's hook returns once /ready answers 200 (or after two minutes),
// so the application's first connections already find the proxy.
const AWAIT_READY = [
  "const http = require('node:http'); const end = Date.now() + 120000;",
  `const poll = () => http.get('http://127.0.0.1:${PROXY_PORTS.admin}/ready', (res) => {`,
  "  res.resume(); if (res.statusCode === 200) process.exit(0); retry(); }).on('error', retry);",
  'const retry = () => (Date.now() > end ? process.exit(1) : setTimeout(poll, 200));',
  'poll();',
].join('\n');

/** What the injector needs besides the pod. */
export interface InjectOptions {
  settings: MeshSettings;
  /** Written to the `strait.io/proxy-version` annotation. */
  version: string;
  /**
   * The control plane's trust anchors (PEM), inlined in the proxy's environment
   * so that no namespace but the control plane's needs a copy of them.
   */
  trustAnchorsPem: string;
  /** Annotations of the pod's namespace: `strait.io/inject` and the config ones apply when the pod has none. */
  namespaceAnnotations?: Record<string, string>;
}

/** The outcome: the pod (a copy, changed only when injected) and why. */
export interface InjectResult {
  pod: V1Pod;
  injected: boolean;
  reason: string;
}

/** A pod annotation the injector cannot use. */
export class InjectAnnotationError extends StraitError {
  constructor(message: string, cause?: unknown) {
    super('E_INJECT_ANNOTATION', message, {
      hint: 'write ports between 1 and 65535 separated by commas, e.g. "25,4190-4191"',
      cause,
    });
    this.name = 'InjectAnnotationError';
  }
}

/**
 * Adds the proxy and proxy-init to a pod (or a pod template: only metadata
 * and spec are read) when `strait.io/inject: enabled` (or Linkerd's
 * `linkerd.io/inject`) is on it or, failing that, on its namespace. Never
 * changes `pod`; injecting an injected pod changes nothing.
 */
export function injectPod(pod: V1Pod, options: InjectOptions): InjectResult {
  const copy = structuredClone(pod);
  const podAnnotations = copy.metadata?.annotations;
  const nsAnnotations = options.namespaceAnnotations;
  const { decision, where } = injectDecision(podAnnotations, nsAnnotations);
  if (!decision)
    return { pod: copy, injected: false, reason: 'no strait.io/inject annotation on the pod or namespace' };
  if (decision.value !== 'enabled') {
    return { pod: copy, injected: false, reason: `${where} annotation ${decision.key}: ${decision.value}` };
  }
  const spec = copy.spec;
  if (!spec) return { pod: copy, injected: false, reason: 'the pod has no spec' };
  if (hasProxy(spec)) {
    return { pod: copy, injected: false, reason: 'the pod already has a strait-proxy container' };
  }
  if (spec.hostNetwork) return { pod: copy, injected: false, reason: 'the pod uses the host network' };

  const setting = (name: AnnotationName) =>
    readAnnotation(podAnnotations, name) ?? readAnnotation(nsAnnotations, name);
  const ports = (name: AnnotationName): PortRange[] => {
    const found = setting(name);
    if (!found) return [];
    try {
      return parsePortList(found.value, `annotation ${found.key}`);
    } catch (error) {
      throw new InjectAnnotationError((error as Error).message, error);
    }
  };
  const opaque = setting('opaquePorts');
  const opaquePorts = opaque ? ports('opaquePorts') : undefined;
  const skipInbound = ports('skipInboundPorts');
  const skipOutbound = ports('skipOutboundPorts');

  spec.initContainers = [
    initContainer(options.settings, skipInbound, skipOutbound),
    ...(spec.initContainers ?? []),
  ];
  spec.containers = [
    proxyContainer(options.settings, options.trustAnchorsPem, opaquePorts),
    ...spec.containers,
  ];
  spec.volumes = [...(spec.volumes ?? []), ...volumes()];
  copy.metadata ??= {};
  copy.metadata.annotations = { ...copy.metadata.annotations, [PROXY_VERSION_ANNOTATION]: options.version };
  copy.metadata.labels = {
    ...copy.metadata.labels,
    [CONTROL_PLANE_NS_LABEL]: options.settings.controlPlaneNamespace,
  };
  return { pod: copy, injected: true, reason: `${where} annotation ${decision.key}: enabled` };
}

function proxyContainer(
  settings: MeshSettings,
  trustAnchorsPem: string,
  opaquePorts: PortRange[] | undefined,
): V1Container {
  const ns = settings.controlPlaneNamespace;
  const env = [
    { name: '_pod_ns', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: '_pod_name', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: '_pod_sa', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
    { name: 'STRAIT_PROXY_INBOUND_ADDR', value: `0.0.0.0:${PROXY_PORTS.inbound}` },
    { name: 'STRAIT_PROXY_OUTBOUND_ADDR', value: `127.0.0.1:${PROXY_PORTS.outbound}` },
    { name: 'STRAIT_PROXY_ADMIN_ADDR', value: `0.0.0.0:${PROXY_PORTS.admin}` },
    { name: 'STRAIT_PROXY_TAP_ADDR', value: `0.0.0.0:${PROXY_PORTS.tap}` },
    { name: 'STRAIT_PROXY_TRANSPARENT', value: 'true' },
    { name: 'STRAIT_PROXY_IDENTITY_ADDR', value: componentAddress(settings, 'identity') },
    { name: 'STRAIT_PROXY_IDENTITY_SERVER_NAME', value: componentIdentity(settings, 'identity') },
    {
      name: 'STRAIT_PROXY_IDENTITY',
      value: `$(_pod_sa).$(_pod_ns).serviceaccount.identity.${ns}.${settings.trustDomain}`,
    },
    { name: 'STRAIT_PROXY_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
    { name: 'STRAIT_PROXY_TRUST_BUNDLE', value: trustAnchorsPem },
    { name: 'STRAIT_PROXY_DESTINATION_ADDR', value: componentAddress(settings, 'destination') },
    { name: 'STRAIT_PROXY_DESTINATION_IDENTITY', value: componentIdentity(settings, 'destination') },
    { name: 'STRAIT_PROXY_POLICY_ADDR', value: componentAddress(settings, 'policy') },
    { name: 'STRAIT_PROXY_POLICY_IDENTITY', value: componentIdentity(settings, 'policy') },
    { name: 'STRAIT_PROXY_WORKLOAD', value: '$(_pod_ns)/$(_pod_name)' },
    ...(opaquePorts ? [{ name: 'STRAIT_PROXY_OPAQUE_PORTS', value: expand(opaquePorts).join(',') }] : []),
  ];
  return {
    name: PROXY_CONTAINER,
    image: settings.image,
    imagePullPolicy: settings.imagePullPolicy,
    command: entryCommand('proxy'),
    env,
    ports: [
      { name: 'strait-proxy', containerPort: PROXY_PORTS.inbound, protocol: 'TCP' },
      { name: 'strait-admin', containerPort: PROXY_PORTS.admin, protocol: 'TCP' },
      { name: 'strait-tap', containerPort: PROXY_PORTS.tap, protocol: 'TCP' },
    ],
    readinessProbe: { httpGet: { path: '/ready', port: PROXY_PORTS.admin }, initialDelaySeconds: 2 },
    livenessProbe: { httpGet: { path: '/live', port: PROXY_PORTS.admin }, initialDelaySeconds: 10 },
    lifecycle: { postStart: { exec: { command: ['node', '-e', AWAIT_READY] } } },
    securityContext: {
      runAsUser: settings.proxyUid,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true },
      { name: PROXY_TMP_VOLUME, mountPath: '/tmp' },
    ],
  };
}

function initContainer(
  settings: MeshSettings,
  skipInbound: PortRange[],
  skipOutbound: PortRange[],
): V1Container {
  const args = [
    '--inbound-port',
    String(PROXY_PORTS.inbound),
    '--outbound-port',
    String(PROXY_PORTS.outbound),
    '--proxy-uid',
    String(settings.proxyUid),
    '--proxy-ports',
    `${PROXY_PORTS.tap},${PROXY_PORTS.admin}`,
  ];
  if (skipInbound.length > 0) args.push('--skip-inbound-ports', formatPortList(skipInbound));
  if (skipOutbound.length > 0) args.push('--skip-outbound-ports', formatPortList(skipOutbound));
  return {
    name: INIT_CONTAINER,
    image: settings.image,
    imagePullPolicy: settings.imagePullPolicy,
    command: entryCommand('proxy-init'),
    args,
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
    // iptables takes its lock under /run, the one place it writes.
    volumeMounts: [{ name: XTABLES_VOLUME, mountPath: '/run' }],
  };
}

function volumes(): V1Volume[] {
  return [
    {
      name: TOKEN_VOLUME,
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
    },
    { name: XTABLES_VOLUME, emptyDir: {} },
    { name: PROXY_TMP_VOLUME, emptyDir: { sizeLimit: '64Mi' } },
  ];
}

function expand(ranges: PortRange[]): number[] {
  return ranges.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i));
}

/** Whether a pod spec already carries the proxy. */
export function hasProxy(spec: V1PodSpec | undefined): boolean {
  return spec?.containers.some((c) => c.name === PROXY_CONTAINER) ?? false;
}

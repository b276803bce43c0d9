import { readFileSync } from 'node:fs';
import {
  DEFAULT_CONTROL_PLANE_NAMESPACE,
  DEFAULT_TRUST_DOMAIN,
  identityName,
} from '../../../core/identity-name.ts';
import { isDataPlaneEntry, PROXY_NODE_ARGS } from '../../../proxy/launch.ts';

const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The image every component runs (one image, different commands). */
export const DEFAULT_IMAGE = `ghcr.io/strait-mesh/strait:${pkg.version}`;

/**
 * Where the image keeps the package; commands are `node [flags] <APP_DIR>/src/cmd/<entry>.ts`,
 * or `<APP_DIR>/dist/cmd/<entry>.js` for the data plane (see entryCommand).
 */
export const APP_DIR = '/app';

/** The ConfigMap holding the trust anchors every proxy verifies against. */
export const TRUST_ROOTS_CONFIGMAP = 'strait-identity-trust-roots';
export const TRUST_ROOTS_KEY = 'ca-bundle.crt';
/** The Secret holding the cluster issuer's certificate and key (kubernetes.io/tls). */
export const ISSUER_SECRET = 'strait-identity-issuer';

/** The control-plane components: Deployment, Service and ServiceAccount share the name. */
export const COMPONENTS = {
  identity: { name: 'strait-identity', port: 8080, entry: 'identity' },
  destination: { name: 'strait-destination', port: 8086, entry: 'destination' },
  policy: { name: 'strait-policy', port: 8090, entry: 'policy' },
  injector: { name: 'strait-proxy-injector', port: 8443, entry: 'injector' },
} as const;

export type ComponentName = keyof typeof COMPONENTS;

/** Mesh-wide settings shared by the install manifests and the proxy injector. */
export interface MeshSettings {
  controlPlaneNamespace: string;
  trustDomain: string;
  /** The cluster's DNS domain, for service addresses (usually cluster.local). */
  clusterDomain: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  proxyUid: number;
}

export function defaultMeshSettings(): MeshSettings {
  return {
    controlPlaneNamespace: DEFAULT_CONTROL_PLANE_NAMESPACE,
    trustDomain: DEFAULT_TRUST_DOMAIN,
    clusterDomain: 'cluster.local',
    image: DEFAULT_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    proxyUid: 2102,
  };
}

/** `strait-identity.strait.svc.cluster.local:8080`, the address proxies dial. */
export function componentAddress(settings: MeshSettings, component: ComponentName): string {
  const { name, port } = COMPONENTS[component];
  return `${name}.${settings.controlPlaneNamespace}.svc.${settings.clusterDomain}:${port}`;
}

/** The identity a component's certificate carries (its ServiceAccount in the control-plane namespace). */
export function componentIdentity(settings: MeshSettings, component: ComponentName): string {
  return identityName({
    serviceAccount: COMPONENTS[component].name,
    namespace: settings.controlPlaneNamespace,
    controlPlaneNamespace: settings.controlPlaneNamespace,
    trustDomain: settings.trustDomain,
  });
}

/**
 * The command that starts an entry point of the image. The proxy and the
 * gateway run as the benchmarked proxies run: compiled (the image's build
 * stage runs scripts/build-proxy.ts; about 16 MB less RSS per pod than the
 * TypeScript source) and with PROXY_NODE_ARGS.
 */
export function entryCommand(entry: string): string[] {
  if (isDataPlaneEntry(entry)) return ['node', ...PROXY_NODE_ARGS, `${APP_DIR}/dist/cmd/${entry}.js`];
  return ['node', `${APP_DIR}/src/cmd/${entry}.ts`];
}

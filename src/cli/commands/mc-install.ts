import { Ports } from '../../core/api/names.ts';
import { StraitError, UsageError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';
import {
  type GatewayServiceType,
  installManifests,
  Multicluster,
  remoteAccessAccount,
  remoteAccessManifests,
} from '../../multicluster/link/manifests.ts';
import { linkAddress } from '../../platform/local/cluster-config.ts';
import { gatewayConfigMap } from '../../platform/local/multicluster/gateway-spec.ts';
import { type Command, type CommandContext, optionalString, requireString } from '../command.ts';
import { formatDocument } from '../output.ts';
import { applyObjects, deleteObjects, localClusterAccess, openMcStore } from './mc-common.ts';
import type { KubernetesTarget } from './mc-kubernetes.ts';
import { waitForGateway } from './mc-local-gateway.ts';

const outputOption = {
  output: {
    type: 'string',
    short: 'o',
    valueName: 'FORMAT',
    description: 'print the manifests (yaml or json) instead of applying them',
  },
} as const;

function printManifests(objects: Resource[], format: string, out: NodeJS.WritableStream): void {
  if (format === 'json')
    out.write(formatDocument({ apiVersion: 'v1', kind: 'List', items: objects }, 'json'));
  else if (format === 'yaml') out.write(objects.map((o) => formatDocument(o, 'yaml')).join('---\n'));
  else throw new UsageError(`-o "${format}" is not supported`, 'use yaml or json');
}

export const mcInstallCommand: Command = {
  name: 'install',
  summary: 'Install the multi-cluster components: gateway, remote-access role and default credential',
  options: {
    'gateway-address': {
      type: 'string',
      valueName: 'ADDR',
      description:
        'address where linked clusters reach this cluster’s gateway (a local cluster’s gateway listens on it)',
    },
    'gateway-port': { type: 'string', valueName: 'PORT', description: 'gateway data port', default: '4143' },
    'probe-port': { type: 'string', valueName: 'PORT', description: 'gateway probe port', default: '4191' },
    'gateway-service-type': {
      type: 'string',
      valueName: 'TYPE',
      description: 'how the gateway Service is exposed: LoadBalancer, NodePort or ClusterIP',
      default: 'LoadBalancer',
    },
    image: {
      type: 'string',
      valueName: 'IMAGE',
      description: 'image of the gateway on Kubernetes (default: this version’s Strait image)',
    },
    'identity-trust-anchors-file': {
      type: 'string',
      valueName: 'FILE',
      description:
        'PEM trust anchors for the gateway on Kubernetes (default: read from strait/strait-identity-trust-roots)',
    },
    ...outputOption,
  },
  async run(ctx) {
    const serviceType = gatewayServiceType(ctx.values['gateway-service-type']);
    const ports = {
      gateway: port(ctx.values['gateway-port'], '--gateway-port'),
      probe: port(ctx.values['probe-port'], '--probe-port'),
    };
    const { store, close, context, kubernetes } = await openMcStore(ctx.values, ctx.env);
    try {
      const access = context.platform === 'local' ? localClusterAccess(context) : undefined;
      const gatewayAddress =
        optionalString(ctx.values, 'gateway-address') ?? (access ? linkAddress(access.config) : undefined);
      const gatewayWorkload = kubernetes
        ? [await kubernetesGateway(kubernetes, ctx, ports)]
        : [localGateway(gatewayAddress ?? '', ports)];
      const objects = installManifests({
        controlPlaneNamespace: access?.config.controlPlaneNamespace ?? 'strait',
        trustDomain: access?.config.trustDomain ?? 'cluster.local',
        ...(gatewayAddress ? { gatewayAddress } : {}),
        gatewayPort: ports.gateway,
        probePort: ports.probe,
        serviceType,
        gatewayWorkload,
      });
      const format = optionalString(ctx.values, 'output');
      if (format) {
        printManifests(objects, format, ctx.stdout);
        return 0;
      }
      await applyObjects(store, objects, ctx.stdout);
      if (context.platform === 'local') return await waitForGateway(store, context.dir, 'running', ctx);
      return 0;
    } finally {
      close();
    }
  },
};

export const mcUninstallCommand: Command = {
  name: 'uninstall',
  summary: 'Remove the multi-cluster components (refused while Links remain)',
  async run(ctx) {
    const { store, close, context } = await openMcStore(ctx.values, ctx.env);
    try {
      const links = await store.list(Kinds.Link, { namespace: Multicluster.namespace });
      if (links.items.length > 0) {
        throw new StraitError(
          'E_MC_LINKS_REMAIN',
          `Links remain: ${links.items.map((l) => l.metadata.name).join(', ')}`,
          { hint: 'remove them first with `strait mc unlink --cluster-name NAME`' },
        );
      }
      const selector = `${Multicluster.partOfLabel}=strait-multicluster`;
      const bindings = await store.list(Kinds.ClusterRoleBinding, { labelSelector: selector });
      await deleteObjects(store, bindings.items, ctx.stdout);
      const objects = installManifests({
        controlPlaneNamespace: 'strait',
        trustDomain: 'cluster.local',
        ...(context.platform === 'local'
          ? { gatewayWorkload: [localGateway('', { gateway: Ports.gateway, probe: Ports.gatewayProbe })] }
          : {}),
      });
      await deleteObjects(store, objects, ctx.stdout);
      if (context.platform === 'local') return await waitForGateway(store, context.dir, 'stopped', ctx);
      return 0;
    } finally {
      close();
    }
  },
};

export const mcAllowCommand: Command = {
  name: 'allow',
  summary: 'Create (or revoke) a separate credential for one consuming cluster',
  description:
    'Creates the ServiceAccount strait-mirror-remote-access-NAME bound to the read-only remote-access role.\n' +
    'Mint its link with `strait mc link-gen --service-account NAME`; --revoke removes it, and every\n' +
    'token it issued stops working.',
  options: {
    name: {
      type: 'string',
      valueName: 'NAME',
      description: 'name of the credential (the consuming cluster)',
    },
    revoke: { type: 'boolean', description: 'remove the credential instead' },
    ...outputOption,
  },
  async run(ctx) {
    const name = requireString(ctx.values, 'name');
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 30) {
      throw new UsageError(`--name "${name}" must be a DNS label of at most 30 characters`);
    }
    const objects = remoteAccessManifests(name);
    const format = optionalString(ctx.values, 'output');
    if (format) {
      printManifests(objects, format, ctx.stdout);
      return 0;
    }
    const { store, close } = await openMcStore(ctx.values, ctx.env);
    try {
      if (ctx.values.revoke === true) await deleteObjects(store, objects, ctx.stdout);
      else {
        await applyObjects(store, objects, ctx.stdout);
        ctx.stdout.write(
          `credential ${remoteAccessAccount(name)} ready: strait mc link-gen --service-account ${name}\n`,
        );
      }
      return 0;
    } finally {
      close();
    }
  },
};

export function port(value: unknown, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UsageError(`${flag} "${String(value)}" is not a port`);
  return n;
}

const SERVICE_TYPES: GatewayServiceType[] = ['LoadBalancer', 'NodePort', 'ClusterIP'];

function gatewayServiceType(value: unknown): GatewayServiceType {
  const type = SERVICE_TYPES.find((t) => t.toLowerCase() === String(value).toLowerCase());
  if (!type) {
    throw new UsageError(
      `--gateway-service-type "${String(value)}" is not one of ${SERVICE_TYPES.join(', ')}`,
    );
  }
  return type;
}

/** On a local cluster: the ConfigMap its control plane runs the gateway from. */
function localGateway(address: string, ports: { gateway: number; probe: number }): Resource {
  return gatewayConfigMap({
    address,
    port: ports.gateway,
    probePort: ports.probe,
    allowedIdentities: [],
    allowedNetworks: [],
  });
}

/**
 * The gateway's Deployment for a Kubernetes cluster (loaded only for
 * Kubernetes contexts). Without the control plane's trust anchors it is still
 * written, with a warning: the gateway stays unready until `mc install` runs
 * again after `strait install`.
 */
async function kubernetesGateway(
  kubernetes: KubernetesTarget,
  ctx: CommandContext,
  ports: { gateway: number; probe: number },
): Promise<Resource> {
  const [
    { gatewayDeployment, readTrustAnchorsFile },
    { defaultMeshSettings },
    { readTrustAnchors, TrustAnchorsUnavailableError },
  ] = await Promise.all([
    import('./mc-kubernetes-gateway.ts'),
    import('../../platform/kubernetes/manifests/settings.ts'),
    import('../../platform/kubernetes/injector/trust-anchors.ts'),
  ]);
  const image = optionalString(ctx.values, 'image');
  const settings = { ...defaultMeshSettings(), ...(image ? { image } : {}) };
  const file = optionalString(ctx.values, 'identity-trust-anchors-file');
  let trustAnchorsPem: string | undefined;
  try {
    trustAnchorsPem = file
      ? readTrustAnchorsFile(file)
      : await readTrustAnchors(kubernetes.client, settings.controlPlaneNamespace);
  } catch (error) {
    if (!(error instanceof TrustAnchorsUnavailableError)) throw error;
    ctx.stderr.write(
      `warning: ${error.message}; the gateway cannot check the identity service and will not become ready.\n` +
        '  Install the control plane and run strait mc install again, or pass --identity-trust-anchors-file.\n',
    );
  }
  return gatewayDeployment(settings, ports, trustAnchorsPem);
}

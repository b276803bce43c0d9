import type { Secret, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import { parseDuration } from '../../core/duration.ts';
import { StraitError, UsageError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';
import { parseSelector } from '../../core/selector.ts';
import type { ResourceStore } from '../../core/store.ts';
import { linkManifests, Multicluster, remoteAccessAccount } from '../../multicluster/link/manifests.ts';
import { removeMirrors } from '../../multicluster/service-mirror/controller.ts';
import { formatKubeconfig } from '../../platform/local/api/kubeconfig.ts';
import { requestServiceAccountToken } from '../../platform/local/api/token-request.ts';
import { type Command, type OptionValues, optionalString, requireString } from '../command.ts';
import { formatDocument } from '../output.ts';
import {
  applyObjects,
  asApiStore,
  deleteObjects,
  localClusterAccess,
  type McStore,
  openMcStore,
} from './mc-common.ts';

const linkGenOptions = {
  'cluster-name': {
    type: 'string',
    valueName: 'NAME',
    description: 'name the source cluster will know the target by',
  },
  'service-account': {
    type: 'string',
    valueName: 'NAME',
    description: 'credential to mint a token for (see `strait mc allow`)',
    default: 'default',
  },
  'gateway-addresses': {
    type: 'string',
    valueName: 'ADDRS',
    description: 'comma-separated gateway addresses (default: the gateway Service’s load-balancer addresses)',
  },
  'token-lifetime': {
    type: 'string',
    valueName: 'DURATION',
    description: 'lifetime of the token; the service mirror renews it before it expires',
    default: '24h',
  },
  'cluster-domain': {
    type: 'string',
    valueName: 'DOMAIN',
    description: 'DNS domain of a Kubernetes target (local clusters know their own)',
    default: 'cluster.local',
  },
  selector: {
    type: 'string',
    short: 'l',
    valueName: 'SELECTOR',
    description: 'label selector of exported services',
  },
} as const;

/** Reads the target (`--context` of link-gen) and mints what the source must apply. */
async function generateLink(
  values: OptionValues,
  env: NodeJS.ProcessEnv,
  targetContext: string | undefined,
): Promise<[Secret, Link]> {
  const clusterName = requireString(values, 'cluster-name');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(clusterName) || clusterName.length > 40) {
    throw new UsageError(`--cluster-name "${clusterName}" must be a DNS label of at most 40 characters`);
  }
  const lifetimeMs = parseDuration(String(values['token-lifetime']), '--token-lifetime');
  const selector = optionalString(values, 'selector');
  const target = await openMcStore({ ...values, context: targetContext }, env);
  const { store, context } = target;
  try {
    const gateway = await store.get<Service>({
      ...Kinds.Service,
      namespace: Multicluster.namespace,
      name: Multicluster.gateway,
    });
    if (!gateway) {
      throw new StraitError('E_MC_NOT_INSTALLED', `cluster ${context.name} has no multi-cluster gateway`, {
        hint: `run: strait mc install --context ${context.name}`,
      });
    }
    const addresses =
      optionalString(values, 'gateway-addresses')
        ?.split(',')
        .map((a) => a.trim())
        .filter(Boolean) ??
      (gateway.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean);
    if (addresses.length === 0) {
      const type = gateway.spec?.type ?? 'LoadBalancer';
      throw new StraitError('E_MC_NO_GATEWAY_ADDRESS', `the gateway of ${context.name} has no address`, {
        hint:
          type === 'LoadBalancer'
            ? 'pass --gateway-addresses, or wait for the load balancer to give the gateway Service an address'
            : `the gateway Service is of type ${type}: pass --gateway-addresses (where the source cluster reaches it)`,
      });
    }
    const credentialName = String(values['service-account']);
    const account = { namespace: Multicluster.namespace, name: remoteAccessAccount(credentialName) };
    const seconds = Math.round(lifetimeMs / 1000);
    const kubeconfig = await mintKubeconfig(target, clusterName, account, seconds).catch((error: unknown) => {
      throw new StraitError(
        'E_MC_CREDENTIAL',
        `cannot mint a token for ${account.namespace}/${account.name}: ${(error as Error).message}`,
        {
          hint: `create the credential first: strait mc allow --context ${context.name} --name ${credentialName}`,
          cause: error,
        },
      );
    });
    const access = context.platform === 'local' ? localClusterAccess(context) : undefined;
    // Through a NodePort, linked clusters dial the node ports.
    const viaNodePort = gateway.spec?.type === 'NodePort';
    const ports = Object.fromEntries(
      (gateway.spec?.ports ?? []).map((p) => [p.name, viaNodePort && p.nodePort ? p.nodePort : p.port]),
    );
    const annotations = gateway.metadata.annotations ?? {};
    return linkManifests({
      clusterName,
      clusterDomain: access?.config.clusterDomain ?? String(values['cluster-domain']),
      controlPlaneNamespace: access?.config.controlPlaneNamespace ?? 'strait',
      gatewayAddresses: addresses,
      gatewayPort: ports['mc-gateway'] ?? 4143,
      gatewayIdentity: annotations[Multicluster.gatewayIdentityAnnotation] ?? '',
      probePort: viaNodePort
        ? (ports['mc-probe'] ?? 4191)
        : Number(annotations[Multicluster.probePortAnnotation] ?? ports['mc-probe'] ?? 4191),
      probePath: annotations[Multicluster.probePathAnnotation] ?? '/ready',
      probePeriod: `${annotations[Multicluster.probePeriodAnnotation] ?? '3'}s`,
      kubeconfig,
      ...(selector ? { selector: { matchExpressions: parseSelector(selector) } } : {}),
    });
  } finally {
    target.close();
  }
}

/** A kubeconfig reaching the target as `account`, with a fresh short-lived token. */
async function mintKubeconfig(
  target: McStore,
  clusterName: string,
  account: { namespace: string; name: string },
  seconds: number,
): Promise<string> {
  if (target.kubernetes) {
    const { mintLinkKubeconfig } = await import('./mc-kubernetes.ts');
    return mintLinkKubeconfig(target.kubernetes, clusterName, account, seconds);
  }
  const access = localClusterAccess(target.context);
  const { token } = await requestServiceAccountToken(asApiStore(target.store), account, seconds);
  return formatKubeconfig({ clusterName, server: access.server, caPem: access.caPem, token });
}

export const mcLinkGenCommand: Command = {
  name: 'link-gen',
  summary: 'Print the credential Secret and Link a source cluster applies to mirror this cluster',
  description:
    'Run against the target cluster (--context). Prints, as YAML, a Secret holding a short-lived token of\n' +
    'a ServiceAccount that may only read services and endpoints, and the Link naming the gateway.\n' +
    'Apply it to the source cluster: strait mc link-gen --context east --cluster-name east | strait local apply --context west -f -',
  options: {
    ...linkGenOptions,
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'yaml (default) or json' },
  },
  async run(ctx) {
    const format = optionalString(ctx.values, 'output') ?? 'yaml';
    if (format !== 'yaml' && format !== 'json')
      throw new UsageError(`-o "${format}" is not supported`, 'use yaml or json');
    const objects = await generateLink(ctx.values, ctx.env, optionalString(ctx.values, 'context'));
    if (format === 'json')
      ctx.stdout.write(formatDocument({ apiVersion: 'v1', kind: 'List', items: objects }, 'json'));
    else ctx.stdout.write(objects.map((o) => formatDocument(o, 'yaml')).join('---\n'));
    return 0;
  },
};

export const mcLinkCommand: Command = {
  name: 'link',
  summary: 'Link this cluster (--context) to a target (--target-context) in one step',
  options: {
    ...linkGenOptions,
    'target-context': {
      type: 'string',
      valueName: 'NAME',
      description: 'the cluster whose services to mirror',
    },
  },
  async run(ctx) {
    const target = requireString(ctx.values, 'target-context');
    const objects = await generateLink(ctx.values, ctx.env, target);
    const { store, close } = await openMcStore(ctx.values, ctx.env);
    try {
      const namespace: Resource = {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: Multicluster.namespace },
      };
      if (!(await store.get({ ...Kinds.Namespace, name: Multicluster.namespace })))
        await store.create(namespace);
      await applyObjects(store, objects, ctx.stdout);
      return 0;
    } finally {
      close();
    }
  },
};

export const mcUnlinkCommand: Command = {
  name: 'unlink',
  summary: 'Remove a Link, its credential and every mirror it made',
  options: { 'cluster-name': linkGenOptions['cluster-name'] },
  async run(ctx) {
    const clusterName = requireString(ctx.values, 'cluster-name');
    const { store, close } = await openMcStore(ctx.values, ctx.env);
    try {
      await unlink(store, clusterName, ctx.stdout);
      return 0;
    } finally {
      close();
    }
  },
};

async function unlink(store: ResourceStore, clusterName: string, out: NodeJS.WritableStream): Promise<void> {
  const link = await store.get<Link>({ ...Kinds.Link, namespace: Multicluster.namespace, name: clusterName });
  if (!link) {
    throw new StraitError('E_MC_NO_LINK', `no Link ${Multicluster.namespace}/${clusterName}`, {
      hint: 'list Links with: strait local get links -n strait-multicluster',
    });
  }
  const secretName = link.spec?.clusterCredentialsSecret;
  const objects: Resource[] = [link];
  if (secretName)
    objects.unshift({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secretName, namespace: Multicluster.namespace },
    });
  await deleteObjects(store, objects, out);
  const removed = await removeMirrors(store, link.spec?.targetClusterName ?? clusterName);
  out.write(`${removed} mirror services removed\n`);
}

import tls from 'node:tls';
import { findCondition } from '../../core/api/conditions.ts';
import type { Secret, Service } from '../../core/api/core.ts';
import { LINK_CREDENTIALS_KEY, type Link } from '../../core/api/multicluster.ts';
import { Labels, Ports } from '../../core/api/names.ts';
import { describeError, UsageError } from '../../core/errors.ts';
import { Kinds } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';
import { isExported, linkConfig } from '../../multicluster/link/link-config.ts';
import { Multicluster } from '../../multicluster/link/manifests.ts';
import { histogramQuantiles } from '../../multicluster/service-mirror/metrics-text.ts';
import { mirrorName } from '../../multicluster/service-mirror/naming.ts';
import { isKubernetesToken } from '../../multicluster/service-mirror/token-renewal.ts';
import { parseKubeconfig, storeFromKubeconfig } from '../../platform/local/api/kubeconfig.ts';
import { mirrorAdminAddress, readClusterConfig } from '../../platform/local/cluster-config.ts';
import type { Command } from '../command.ts';
import type { ClusterContext } from '../context.ts';
import {
  type CheckResult,
  formatChecks,
  formatDocument,
  formatTable,
  outputFormat,
  outputOption,
} from '../output.ts';
import { localClusterAccess, type McStore, openMcStore } from './mc-common.ts';
import { checkLocalGateway } from './mc-local-gateway.ts';

const adminOption = {
  'admin-addr': {
    type: 'string',
    valueName: 'HOST:PORT',
    description:
      'the service mirror’s admin address, for probe latencies (default: a local cluster’s control plane, else 127.0.0.1:9999)',
  },
} as const;

/** Where the service mirror's metrics are: the flag, else a local cluster's control plane. */
function mirrorAdmin(flag: unknown, context: ClusterContext): string {
  if (typeof flag === 'string' && flag !== '') return flag;
  if (context.platform !== 'local') return `127.0.0.1:${Ports.mirrorAdmin}`;
  const { host, port } = mirrorAdminAddress(readClusterConfig(context.dir));
  return `${host}:${port}`;
}

async function scrape(address: string): Promise<string | undefined> {
  try {
    const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2000) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

/** One row of `strait mc gateways`. */
export interface GatewayRow {
  cluster: string;
  alive: boolean | undefined;
  services: number;
  latencyMs: { p50?: number; p95?: number; p99?: number };
}

export const mcGatewaysCommand: Command = {
  name: 'gateways',
  summary: 'Show the gateway of every linked cluster: alive, mirrored services, probe latency',
  options: {
    ...adminOption,
    ...outputOption,
  },
  async run(ctx) {
    const format = outputFormat(ctx.values.output);
    const { store, close, context } = await openMcStore(ctx.values, ctx.env);
    try {
      const links = await store.list<Link>(Kinds.Link, { namespace: Multicluster.namespace });
      const adminAddress = mirrorAdmin(ctx.values['admin-addr'], context);
      const metrics = await scrape(adminAddress);
      const rows: GatewayRow[] = links.items.map((link) => {
        const cluster = link.spec?.targetClusterName ?? link.metadata.name;
        const [p50, p95, p99] = metrics
          ? histogramQuantiles(
              metrics,
              'gateway_probe_latency_ms',
              { target_cluster_name: cluster },
              [0.5, 0.95, 0.99],
            )
          : [];
        return {
          cluster,
          alive: link.status?.gatewayAlive,
          services: link.status?.mirroredServices ?? 0,
          latencyMs: {
            ...(p50 === undefined ? {} : { p50 }),
            ...(p95 === undefined ? {} : { p95 }),
            ...(p99 === undefined ? {} : { p99 }),
          },
        };
      });
      if (format !== 'table') {
        ctx.stdout.write(formatDocument(rows, format));
        return 0;
      }
      if (rows.length === 0) {
        ctx.stdout.write('No Links found.\n');
        return 0;
      }
      const ms = (value: number | undefined) => (value === undefined ? '-' : `${value}ms`);
      ctx.stdout.write(
        formatTable(
          ['CLUSTER', 'ALIVE', 'NUM_SVC', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99'],
          rows.map((r) => [
            r.cluster,
            r.alive === undefined ? 'unknown' : r.alive,
            r.services,
            ms(r.latencyMs.p50),
            ms(r.latencyMs.p95),
            ms(r.latencyMs.p99),
          ]),
        ),
      );
      if (!metrics) ctx.stderr.write(`latencies unavailable: no service mirror metrics at ${adminAddress}\n`);
      return 0;
    } finally {
      close();
    }
  },
};

export const mcCheckCommand: Command = {
  name: 'check',
  summary: 'Check every Link: credentials, remote API, shared trust anchor, gateway, mirrors',
  async run(ctx) {
    if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`);
    const { store, close, context } = await openMcStore(ctx.values, ctx.env);
    let failed = false;
    try {
      const anchor = await trustAnchor({ store, context, close });
      const gateway = context.platform === 'local' ? await checkLocalGateway(store, context.dir) : undefined;
      if (gateway) {
        failed ||= !gateway.ok;
        ctx.stdout.write(formatChecks('strait-multicluster: gateway', [gateway]));
        ctx.stdout.write('\n');
      }
      const links = await store.list<Link>(Kinds.Link, { namespace: Multicluster.namespace });
      if (links.items.length === 0) {
        ctx.stdout.write(
          formatChecks('strait-multicluster', [
            {
              description: 'Links exist',
              ok: false,
              error: 'no Link in strait-multicluster',
              hint: 'strait mc link --context SOURCE --target-context TARGET --cluster-name NAME',
              warning: true,
            },
          ]),
        );
        return failed ? 1 : 0;
      }
      for (const link of links.items) {
        const results = await checkLink(store, link, anchor);
        failed ||= results.some((r) => !r.ok && !r.warning);
        ctx.stdout.write(formatChecks(`strait-multicluster: link ${link.metadata.name}`, results));
        ctx.stdout.write('\n');
      }
      ctx.stdout.write(failed ? 'Status check results are ×\n' : 'Status check results are √\n');
      return failed ? 1 : 0;
    } finally {
      close();
    }
  },
};

/**
 * This cluster's trust anchors: a local cluster's file, or on Kubernetes the
 * trust roots ConfigMap of the control plane (an error text when it is missing).
 */
async function trustAnchor(target: McStore): Promise<{ pem: string } | { error: string }> {
  if (target.context.platform === 'local') return { pem: localClusterAccess(target.context).trustAnchorPem };
  const { TRUST_ROOTS_CONFIGMAP, TRUST_ROOTS_KEY } = await import(
    '../../platform/kubernetes/manifests/settings.ts'
  );
  const roots = await target.store.get<Resource & { data?: Record<string, string> }>({
    ...Kinds.ConfigMap,
    namespace: 'strait',
    name: TRUST_ROOTS_CONFIGMAP,
  });
  const pem = roots?.data?.[TRUST_ROOTS_KEY];
  return pem ? { pem } : { error: `ConfigMap strait/${TRUST_ROOTS_CONFIGMAP} has no ${TRUST_ROOTS_KEY}` };
}

/** A client of the target from a link's kubeconfig: Kubernetes tokens get the Kubernetes adapter. */
async function remoteStoreOf(
  kubeconfig: string,
  source: string,
): Promise<ResourceStore & { close?(): void }> {
  const credential = parseKubeconfig(kubeconfig, source);
  if (!isKubernetesToken(credential.token)) return storeFromKubeconfig(kubeconfig, source);
  const kubernetes = await import('./mc-kubernetes.ts');
  return kubernetes.remoteKubernetes(kubeconfig, source, { onRenewed: () => {} }).store;
}

async function checkLink(
  local: ResourceStore,
  link: Link,
  anchor: { pem: string } | { error: string },
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (description: string, error?: string, hint?: string) => {
    results.push({
      description,
      ok: error === undefined,
      ...(error ? { error } : {}),
      ...(hint ? { hint } : {}),
    });
    return error === undefined;
  };
  let config: ReturnType<typeof linkConfig>;
  try {
    config = linkConfig(link);
    add('Link spec is valid');
  } catch (error) {
    add('Link spec is valid', describeError(error), 'regenerate it with strait mc link-gen');
    return results;
  }
  const secret = await local.get<Secret>({
    ...Kinds.Secret,
    namespace: config.namespace,
    name: config.clusterCredentialsSecret,
  });
  const encoded = secret?.data?.[LINK_CREDENTIALS_KEY];
  if (
    !add(
      'credentials Secret exists',
      encoded
        ? undefined
        : `Secret ${config.namespace}/${config.clusterCredentialsSecret} is missing or has no ${LINK_CREDENTIALS_KEY}`,
      'link again: strait mc link',
    )
  ) {
    return results;
  }
  let remote: (ResourceStore & { close?(): void }) | undefined;
  try {
    remote = await remoteStoreOf(
      Buffer.from(encoded as string, 'base64').toString('utf8'),
      `Secret ${config.clusterCredentialsSecret}`,
    );
    const services = await Promise.race([
      remote.list<Service>(Kinds.Service),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('timed out after 5s')), 5000).unref(),
      ),
    ]);
    add('remote API reachable with the link’s credential');
    const exported = services.items.filter((s) => isExported(config, s.metadata.labels));
    const mirrors = await local.list<Service>(Kinds.Service, {
      labelSelector: `${Labels.mirroredService}=true,${Labels.mirrorClusterName}=${config.targetClusterName}`,
    });
    const have = new Set(mirrors.items.map((m) => `${m.metadata.namespace}/${m.metadata.name}`));
    const want = exported.map(
      (s) => `${s.metadata.namespace}/${mirrorName(s.metadata.name, config.targetClusterName)}`,
    );
    const missing = want.filter((w) => !have.has(w));
    const orphans = mirrors.items.filter(
      (m) =>
        !m.metadata.labels?.[Labels.headlessMirrorServiceName] &&
        !want.includes(`${m.metadata.namespace}/${m.metadata.name}`),
    );
    add(
      'mirrors consistent with the exported services',
      missing.length || orphans.length
        ? [
            missing.length ? `missing: ${missing.join(', ')}` : '',
            orphans.length
              ? `orphaned: ${orphans.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).join(', ')}`
              : '',
          ]
            .filter(Boolean)
            .join('; ')
        : undefined,
      'is the service mirror running for this Link? its Link status and Events say why a service is skipped',
    );
  } catch (error) {
    add(
      'remote API reachable with the link’s credential',
      describeError(error),
      'the token may have expired or been revoked: link again',
    );
  } finally {
    remote?.close?.();
  }
  const gatewayAddress = config.gatewayAddresses[0] as string;
  add(
    'trust anchor shared with the target’s gateway',
    'error' in anchor
      ? anchor.error
      : await verifyGateway(gatewayAddress, config.gatewayPort, config.gatewayIdentity, anchor.pem),
    'error' in anchor
      ? 'install the control plane: strait install'
      : 'both clusters must be issued from the same trust anchor',
  );
  const alive = link.status?.gatewayAlive;
  add(
    'gateway alive',
    alive === false
      ? `the probe of ${config.gatewayAddresses.join(',')}:${config.probe.port}${config.probe.path} fails`
      : alive === undefined
        ? 'no probe result yet'
        : undefined,
    'check the gateway on the target: strait mc gateways',
  );
  const synced = findCondition(link.status?.conditions, 'Synced');
  add(
    'service mirror in sync',
    synced?.status === 'True' ? undefined : (synced?.message ?? 'the service mirror has not reported'),
    'is the service mirror running?',
  );
  return results;
}

/** Connects to the gateway and checks that its certificate chains to our anchor and names the expected identity. */
function verifyGateway(
  host: string,
  port: number,
  identity: string,
  anchorPem: string,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      servername: identity,
      ca: anchorPem,
      rejectUnauthorized: false,
      timeout: 5000,
    });
    socket.once('secureConnect', () => {
      const san = socket.getPeerCertificate().subjectaltname ?? '';
      const reason = !socket.authorized
        ? `the gateway's certificate does not chain to this cluster's trust anchor (${String(socket.authorizationError)})`
        : !san.split(', ').includes(`DNS:${identity}`)
          ? `the gateway presents ${san || 'no identity'}, not ${identity}`
          : undefined;
      socket.destroy();
      resolve(reason);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(`no TLS answer from ${host}:${port}`);
    });
    socket.once('error', (error) => resolve(`cannot reach the gateway at ${host}:${port}: ${error.message}`));
  });
}

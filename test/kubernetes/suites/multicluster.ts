import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { DeploymentKind, remoteKubernetes } from '../../../src/cli/commands/mc-kubernetes.ts';
import type { Endpoints, Secret, Service } from '../../../src/core/api/core.ts';
import {
  LINK_CREDENTIALS_KEY,
  LINK_CREDENTIALS_SECRET_TYPE,
  type Link,
} from '../../../src/core/api/multicluster.ts';
import { Annotations, Labels } from '../../../src/core/api/names.ts';
import type { ClusterRole } from '../../../src/core/api/rbac.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { ForbiddenError } from '../../../src/core/store.ts';
import { Multicluster } from '../../../src/multicluster/link/manifests.ts';
import { tokenTimes } from '../../../src/multicluster/service-mirror/token-renewal.ts';
import { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { customResourceDefinitions } from '../../../src/platform/kubernetes/crds.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import { KubernetesStore } from '../../../src/platform/kubernetes/store.ts';
import { requestServiceAccountToken } from '../../../src/platform/kubernetes/tokens.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { eventually, freshNamespace, mcCli, storeOn } from './fixtures.ts';

const SERVICE_MIRROR = fileURLToPath(new URL('../../../src/cmd/service-mirror.ts', import.meta.url));
const NS = Multicluster.namespace;

/** A client acting with the token in a link's kubeconfig. */
function clientOf(kubeconfig: string): KubeClient {
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  return new KubeClient(config);
}

function decodeCredential(secret: Secret | undefined): string {
  const encoded = secret?.data?.[LINK_CREDENTIALS_KEY];
  assert.ok(encoded, 'the credentials Secret holds a kubeconfig');
  return Buffer.from(encoded, 'base64').toString('utf8');
}

function tokenOf(kubeconfig: string): string {
  const config = new KubeConfig();
  config.loadFromString(kubeconfig);
  const token = config.getCurrentUser()?.token;
  assert.ok(token, 'the kubeconfig carries a bearer token');
  return token;
}

function exportedService(namespace: string, name: string, exported: boolean): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: exported ? { [Labels.exported]: 'true' } : { app: name } },
    spec: { ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
  };
}

/** Ready endpoints of a selector-less Service: a mirror has addresses only while its target has. */
function readyEndpoints(namespace: string, name: string, ip: string): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace },
    subsets: [{ addresses: [{ ip }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  };
}

/**
 * `strait mc` on two real API servers: install on both, link west→east with a
 * TokenRequest credential, mirror an exported Service, un-export, renew the
 * token, check, unlink and revoke; the credential is refused everything but
 * reading services and endpoints.
 */
export async function multiclusterTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const west = storeOn(clusters, 'west');
  const east = new KubernetesStore(clusters.client('east'), {
    extraKinds: [...Object.values(KubernetesKinds), DeploymentKind],
  });
  const home = await mkdtemp(join(tmpdir(), 'strait-mc-kube-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const { mc, ok } = mcCli(home, clusters);
  const gatewayIp = `${clusters.podNetworks.east}.250`;
  let mirror: ChildProcess | undefined;
  t.after(() => mirror?.kill('SIGTERM'));

  await t.test(
    'mc install: gateway Deployment and Service, and read-only remote access, on both clusters',
    async () => {
      for (const store of [west, east]) {
        for (const crd of customResourceDefinitions())
          await store.apply(crd, { fieldManager: 'strait-install', force: true });
      }
      await eventually('the Link CRD to be served in west', async () => {
        await west.list(Kinds.Link, { namespace: 'default' });
        return true;
      });
      const printed = await ok('install', '--context', 'east', '-o', 'yaml');
      assert.match(printed, /kind: Deployment/);
      assert.doesNotMatch(printed, /kind: Secret/);

      const installed = await ok('install', '--context', 'east', '--gateway-address', gatewayIp);
      assert.match(installed, /deployment\/strait-gateway created/);
      await ok('install', '--context', 'west', '--gateway-service-type', 'NodePort');

      const deployment = await east.get<
        Resource & { spec?: { template?: { spec?: { serviceAccountName?: string } } } }
      >({
        ...DeploymentKind,
        namespace: NS,
        name: Multicluster.gateway,
      });
      assert.equal(deployment?.spec?.template?.spec?.serviceAccountName, Multicluster.gateway);
      const gateway = await east.get<Service>({
        ...Kinds.Service,
        namespace: NS,
        name: Multicluster.gateway,
      });
      assert.equal(gateway?.spec?.type, 'LoadBalancer');
      assert.deepEqual(
        gateway?.spec?.ports?.map((p) => [p.name, p.port]),
        [
          ['mc-gateway', 4143],
          ['mc-probe', 4191],
        ],
      );
      assert.equal(gateway?.status?.loadBalancer?.ingress?.[0]?.ip, gatewayIp);
      assert.match(
        gateway?.metadata.annotations?.[Multicluster.gatewayIdentityAnnotation] ?? '',
        /^strait-gateway\./,
      );
      const westGateway = await west.get<Service>({
        ...Kinds.Service,
        namespace: NS,
        name: Multicluster.gateway,
      });
      assert.equal(westGateway?.spec?.type, 'NodePort');

      const role = await east.get<ClusterRole>({ ...Kinds.ClusterRole, name: Multicluster.remoteAccessRole });
      assert.deepEqual(role?.rules, [
        { apiGroups: [''], resources: ['services', 'endpoints'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      ]);
    },
  );

  await t.test('mc allow: a separate ServiceAccount and bindings for one consuming cluster', async () => {
    const out = await ok('allow', '--context', 'east', '--name', 'west');
    assert.match(out, /serviceaccount\/strait-mirror-remote-access-west created/);
    assert.ok(
      await east.get({ ...Kinds.ServiceAccount, namespace: NS, name: 'strait-mirror-remote-access-west' }),
    );
    assert.ok(await east.get({ ...Kinds.ClusterRoleBinding, name: 'strait-mirror-remote-access-west' }));
  });

  await t.test(
    'mc link-gen: a NodePort gateway is linked at its node ports, and needs an address',
    async () => {
      const missing = await mc('link-gen', '--context', 'west', '--cluster-name', 'west');
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /E_MC_NO_GATEWAY_ADDRESS|has no address/);
      assert.match(missing.stderr, /NodePort: pass --gateway-addresses/);
      const printed = await ok(
        'link-gen',
        '--context',
        'west',
        '--cluster-name',
        'west',
        '--gateway-addresses',
        '192.0.2.7',
        '-o',
        'json',
      );
      const [secret, link] = (JSON.parse(printed) as { items: [Secret, Link] }).items;
      assert.equal(secret.type, LINK_CREDENTIALS_SECRET_TYPE);
      const gateway = await west.get<Service>({
        ...Kinds.Service,
        namespace: NS,
        name: Multicluster.gateway,
      });
      const nodePort = (name: string) => gateway?.spec?.ports?.find((p) => p.name === name)?.nodePort;
      assert.ok(nodePort('mc-gateway'), 'the API server gave the gateway node ports');
      assert.equal(link.spec?.gatewayAddress, '192.0.2.7');
      assert.equal(link.spec?.gatewayPort, nodePort('mc-gateway'));
      assert.equal(link.spec?.probeSpec?.port, nodePort('mc-probe'));
    },
  );

  let credential = '';
  await t.test(
    'mc link: the source holds a short-lived TokenRequest token and a Link to the gateway',
    async () => {
      const out = await ok(
        'link',
        '--context',
        'west',
        '--target-context',
        'east',
        '--cluster-name',
        'east',
        '--service-account',
        'west',
        '--token-lifetime',
        '1h',
      );
      assert.match(out, /link\/east created/);
      const secret = await west.get<Secret>({
        ...Kinds.Secret,
        namespace: NS,
        name: 'cluster-credentials-east',
      });
      assert.equal(secret?.type, LINK_CREDENTIALS_SECRET_TYPE);
      credential = decodeCredential(secret);
      const { issuedAt, expiresAt } = tokenTimes(tokenOf(credential));
      assert.ok(expiresAt - issuedAt <= 3600, `the token lives ${expiresAt - issuedAt}s, not more than 1h`);
      const link = await west.get<Link>({ ...Kinds.Link, namespace: NS, name: 'east' });
      assert.equal(link?.spec?.gatewayAddress, gatewayIp);
      assert.equal(link?.spec?.gatewayPort, 4143);
      assert.equal(link?.spec?.probeSpec?.port, 4191);
      assert.match(
        link?.spec?.gatewayIdentity ?? '',
        /^strait-gateway\.strait-multicluster\.serviceaccount\./,
      );
      // No long-lived token Secret was made for the credential.
      const secrets = await east.list<Secret>(Kinds.Secret, { namespace: NS });
      assert.deepEqual(
        secrets.items
          .filter((s) => s.type === 'kubernetes.io/service-account-token')
          .map((s) => s.metadata.name),
        [],
      );
    },
  );

  await t.test('link credential: reads services and endpoints, and is refused everything else', async () => {
    const remote = new KubernetesStore(clientOf(credential), { extraKinds: Object.values(KubernetesKinds) });
    await remote.list(Kinds.Service);
    await remote.list(Kinds.Endpoints, { namespace: 'default' });
    await remote.list(KubernetesKinds.EndpointSlice);
    await remote.get({ ...Kinds.Service, namespace: NS, name: Multicluster.gateway });
    const refused: [string, () => Promise<unknown>][] = [
      ['list Secrets', () => remote.list(Kinds.Secret)],
      ['list Secrets in its namespace', () => remote.list(Kinds.Secret, { namespace: NS })],
      ['list ConfigMaps', () => remote.list(Kinds.ConfigMap)],
      ['list Pods', () => remote.list({ apiVersion: 'v1', kind: 'Pod' })],
      ['list Namespaces', () => remote.list(Kinds.Namespace)],
      ['create a Service', () => remote.create(exportedService('default', 'intruder', false))],
      [
        'delete the gateway',
        () => remote.delete({ ...Kinds.Service, namespace: NS, name: Multicluster.gateway }),
      ],
      [
        'request a token of another account',
        () => requestServiceAccountToken(clientOf(credential), NS, 'strait-mirror-remote-access-default'),
      ],
    ];
    for (const [what, attempt] of refused) {
      await assert.rejects(attempt(), ForbiddenError, `the credential may not ${what}`);
    }
    const own = await requestServiceAccountToken(
      clientOf(credential),
      NS,
      'strait-mirror-remote-access-west',
      {
        expirationSeconds: 600,
      },
    );
    assert.ok(own.token);
  });

  let namespace = '';
  await t.test(
    'service mirror: an exported Service in east appears in west as <svc>-east at the gateway',
    async () => {
      namespace = await freshNamespace(east, 'shop');
      await west.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
      mirror = spawn(
        process.execPath,
        [
          SERVICE_MIRROR,
          '--kubeconfig',
          clusters.kubeconfig,
          '--context',
          'west',
          '--admin-addr',
          '127.0.0.1:0',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRAIT_HOME: home } },
      );
      let log = '';
      mirror.stderr?.on('data', (chunk) => {
        log += chunk;
      });
      const [line] = (await Promise.race([
        once(mirror.stdout as NodeJS.ReadableStream, 'data'),
        once(mirror, 'exit').then(() => assert.fail(`the service mirror exited: ${log}`)),
      ])) as [Buffer];
      assert.match(String(line), /ready/);

      await east.create(exportedService(namespace, 'backend', true));
      await east.create(readyEndpoints(namespace, 'backend', `${clusters.podNetworks.east}.10`));
      const mirrored = await eventually('backend-east in west', () =>
        west.get<Service>({ ...Kinds.Service, namespace, name: 'backend-east' }),
      );
      assert.equal(mirrored.spec?.selector, undefined);
      assert.deepEqual(
        mirrored.spec?.ports?.map((p) => [p.name, p.port]),
        [['http', 8080]],
      );
      assert.equal(
        mirrored.metadata.annotations?.[Annotations.remoteServiceFqName],
        `backend.${namespace}.svc.cluster.local`,
      );
      assert.match(
        mirrored.metadata.annotations?.[Annotations.remoteGatewayIdentity] ?? '',
        /^strait-gateway\./,
      );
      assert.equal(mirrored.metadata.labels?.[Labels.mirrorClusterName], 'east');
      // Ready or not depends on the gateway probe; either way the address is east's gateway.
      const subset = await eventually('backend-east endpoints at the gateway', async () => {
        const endpoints = await west.get<Endpoints>({ ...Kinds.Endpoints, namespace, name: 'backend-east' });
        const first = endpoints?.subsets?.[0];
        return first && [...(first.addresses ?? []), ...(first.notReadyAddresses ?? [])].length > 0
          ? first
          : undefined;
      });
      const addresses = [...(subset.addresses ?? []), ...(subset.notReadyAddresses ?? [])].map((a) => a.ip);
      assert.deepEqual(addresses, [gatewayIp]);
      assert.deepEqual(
        subset?.ports?.map((p) => p.port),
        [4143],
      );
    },
  );

  await t.test('service mirror: un-exporting removes the mirror', async () => {
    await east.patch(
      { ...Kinds.Service, namespace, name: 'backend' },
      { metadata: { labels: { [Labels.exported]: null } } },
    );
    await eventually(
      'backend-east to be removed',
      async () => !(await west.get({ ...Kinds.Service, namespace, name: 'backend-east' })),
    );
  });

  await t.test(
    'link credential: renewed with TokenRequest as itself, and the mirror goes on with the new token',
    async () => {
      const renewed: string[] = [];
      const remote = remoteKubernetes(credential, 'Secret cluster-credentials-east', {
        onRenewed: (kubeconfig) => renewed.push(kubeconfig),
      });
      const before = tokenOf(credential);
      const token = await remote.renewer.renewNow();
      remote.renewer.stop();
      assert.notEqual(token, before);
      assert.equal(renewed.length, 1);
      assert.equal(tokenOf(renewed[0] as string), token);
      assert.ok(tokenTimes(token).expiresAt > tokenTimes(before).expiresAt);
      // The renewed store talks with the new token.
      await remote.store.list(Kinds.Service, { namespace });
      await west.patch(
        { ...Kinds.Secret, namespace: NS, name: 'cluster-credentials-east' },
        { data: { [LINK_CREDENTIALS_KEY]: Buffer.from(renewed[0] as string).toString('base64') } },
      );
      credential = renewed[0] as string;
      await east.create(exportedService(namespace, 'orders', true));
      await eventually('orders-east in west', () =>
        west.get<Service>({ ...Kinds.Service, namespace, name: 'orders-east' }),
      );
    },
  );

  await t.test('mc check and mc gateways work against Kubernetes contexts', async () => {
    const check = await mc('check', '--context', 'west');
    assert.match(check.stdout, /✓ credentials Secret exists/);
    assert.match(check.stdout, /✓ remote API reachable with the link’s credential/);
    assert.match(check.stdout, /✓ mirrors consistent with the exported services/);
    // No control plane is installed, so the anchor check fails with its hint, and the gateway is not running.
    assert.match(check.stdout, /× trust anchor shared/);
    assert.equal(check.code, 1);
    const gateways = await mc('gateways', '--context', 'west', '-o', 'json');
    assert.equal(gateways.code, 0, gateways.stderr);
    const rows = JSON.parse(gateways.stdout) as { cluster: string; services: number }[];
    assert.deepEqual(
      rows.map((r) => r.cluster),
      ['east'],
    );
  });

  await t.test('mc unlink removes the Link, its credential and every mirror', async () => {
    const out = await ok('unlink', '--context', 'west', '--cluster-name', 'east');
    assert.match(out, /link\/east deleted/);
    assert.match(out, /secret\/cluster-credentials-east deleted/);
    await eventually('every mirror of east to be gone', async () => {
      const left = await west.list(Kinds.Service, { labelSelector: `${Labels.mirrorClusterName}=east` });
      return left.items.length === 0;
    });
    assert.equal(
      await west.get({ ...Kinds.Secret, namespace: NS, name: 'cluster-credentials-east' }),
      undefined,
    );
  });

  await t.test('mc allow --revoke: the credential’s tokens stop working, the others stay', async () => {
    await ok('allow', '--context', 'east', '--name', 'west', '--revoke');
    await eventually('the revoked token to be refused', async () => {
      const response = await clientOf(credential).request({ method: 'GET', path: '/api/v1/services' });
      return response.status === 401;
    });
    assert.ok(
      await east.get({ ...Kinds.ServiceAccount, namespace: NS, name: 'strait-mirror-remote-access-default' }),
    );
  });
  await t.test('mc uninstall removes the components once no Link remains', async () => {
    const out = await ok('uninstall', '--context', 'east');
    assert.match(out, /clusterrole\/strait-mirror-remote-access deleted/);
    assert.equal(await east.get({ ...Kinds.ClusterRole, name: Multicluster.remoteAccessRole }), undefined);
    const bindings = await east.list(Kinds.ClusterRoleBinding, {
      labelSelector: `${Multicluster.partOfLabel}=strait-multicluster`,
    });
    assert.deepEqual(bindings.items, []);
  });

  await t.test('service mirror: stops on SIGTERM', async () => {
    assert.ok(mirror && mirror.exitCode === null, 'the service mirror still runs');
    const exited = once(mirror, 'exit');
    mirror.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
    if (!stopped) mirror.kill('SIGKILL');
    assert.ok(stopped, 'the service mirror exits within 20 s of SIGTERM');
  });
}

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { DeploymentKind } from '../../../src/cli/commands/mc-kubernetes.ts';
import type { Service } from '../../../src/core/api/core.ts';
import { Labels } from '../../../src/core/api/names.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { Multicluster } from '../../../src/multicluster/link/manifests.ts';
import { customResourceDefinitions } from '../../../src/platform/kubernetes/crds.ts';
import { injectPod } from '../../../src/platform/kubernetes/injector/inject.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import { componentAddress } from '../../../src/platform/kubernetes/manifests/settings.ts';
import type { TestClusters } from '../harness/clusters.ts';
import type { Pod } from '../harness/node.ts';
import { POD_NETWORK_ANNOTATION } from '../harness/process-runtime.ts';
import { type GroupProcess, startGroupProcess } from '../harness/processes.ts';
import { type Component, startControlPlaneProcesses, type WestControlPlane } from './control-plane.ts';
import { applyAsKubectl, eventually, freshNamespace, mcCli, storeOn, uncommonPort } from './fixtures.ts';

const CMD = (name: string) => fileURLToPath(new URL(`../../../src/cmd/${name}.ts`, import.meta.url));
const _PKI = fileURLToPath(new URL('../../../testdata/manifests/pki/', import.meta.url));
const BACKEND_PORT = 8080;
/** The demo back end answers with its cluster, its workload and the caller its proxy verified. */
const BACKEND_APP = '/app/src/demo/app/backend.ts';
/** The west app: asks TARGET once a second and logs each answer as one JSON line. */
const CALLER = [
  'const http = require("node:http");',
  'const log = (entry) => console.log(JSON.stringify(entry));',
  'const ask = () => {',
  '  http',
  '    .get(process.env.TARGET, (response) => {',
  '      let body = "";',
  '      response.setEncoding("utf8");',
  '      response.on("data", (chunk) => (body += chunk));',
  '      response.on("end", () => log({ status: response.statusCode, body }));',
  '    })',
  '    .on("error", (error) => log({ error: error.message }));',
  '  setTimeout(ask, 1000);',
  '};',
  'ask();',
].join('\n');

interface RunningPod extends Resource {
  status?: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

/**
 * The cross-cluster request path with every hop a real process: a west pod's
 * app calls `backend-east.<ns>.svc.cluster.local` (the mirror the service
 * mirror made) by name, which resolves to the mirror's cluster IP; proxy-init's
 * rules in the pod's network namespace take the connection to its proxy, whose
 * destination lookup of that address finds the mirror, so it sends the request
 * over mTLS to east's gateway pod (the Deployment `mc install` writes), which
 * asks east's destination and forwards to the east
 * backend pod's proxy and app; the app answers with the caller's identity.
 * East gets its own identity, destination and policy processes under the
 * same trust anchors as west. Runs after the injector suite, whose webhook
 * injects the west pod.
 */
export async function crossClusterTests(
  t: TestContext,
  clusters: TestClusters,
  controlPlane: WestControlPlane,
): Promise<void> {
  const { settings, anchorsPem } = controlPlane;
  const ns = settings.controlPlaneNamespace;
  const east = storeOn(clusters, 'east', { extraKinds: [...Object.values(KubernetesKinds), DeploymentKind] });
  const west = storeOn(clusters, 'west');
  const eastClient = clusters.client('east');
  const files = join(clusters.east.dir, 'control-plane');
  const home = await mkdtemp(join(tmpdir(), 'strait-cross-cluster-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const components: Partial<Record<'identity' | 'destination' | 'policy', Component>> = {};
  t.after(() => {
    for (const component of Object.values(components)) component.child.kill('SIGKILL');
  });
  let mirror: GroupProcess | undefined;
  t.after(() => mirror?.stop(5_000));
  const { ok } = mcCli(home, clusters);
  const ready = async (store: typeof east, node: 'west' | 'east', namespace: string, name: string) => {
    const harnessNode = await clusters.node(node);
    return eventually(
      `${namespace}/${name} to be Ready`,
      async () => {
        const failure = harnessNode.podFailure(namespace, name);
        if (failure) assert.fail(`the ${node} node could not run ${name}: ${failure}`);
        const pod = await store.get<RunningPod>({ ...Kinds.Pod, namespace, name });
        const isReady = pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return isReady ? (pod?.status?.podIP as string) : undefined;
      },
      180_000,
    );
  };
  const clientIdentity = (namespace: string) =>
    `client.${namespace}.serviceaccount.identity.${ns}.${settings.trustDomain}`;
  let shop = '';
  let gatewayIp = '';

  await t.test(
    'cross-cluster: east runs identity, destination and policy under the anchors west trusts',
    async () => {
      for (const crd of customResourceDefinitions())
        await east.apply(crd, { fieldManager: 'strait-install', force: true });
      await eventually('the CRDs to be served in east', async () => {
        await east.list(Kinds.Link, { namespace: 'default' });
        return true;
      });
      // The uninstall suite's namespace may still be terminating: retried until it is gone.
      await eventually(
        'east to take the install',
        async () => {
          await applyAsKubectl(
            eastClient,
            controlPlane.resources.filter((r) => r.kind !== 'MutatingWebhookConfiguration'),
          );
          return true;
        },
        120_000,
      );
      // West's identity signs with the rotated issuer: east trusts both anchors, as west does.
      await east.patch(
        { ...Kinds.ConfigMap, namespace: ns, name: 'strait-identity-trust-roots' },
        { data: { 'ca-bundle.crt': anchorsPem } },
      );
      await startControlPlaneProcesses({
        kubeconfig: join(clusters.east.dir, 'admin.kubeconfig'),
        client: eastClient,
        files,
        anchorsPem,
        settings,
        components,
      });
      for (const component of ['identity', 'destination', 'policy'] as const) {
        clusters.serviceAddresses.east.set(
          componentAddress(settings, component),
          (components[component] as Component).address,
        );
      }
    },
  );
  if (!components.identity || !components.destination || !components.policy) return;

  await t.test(
    "cross-cluster: east's gateway pod (mc install's Deployment) gets its certificate and turns Ready",
    async () => {
      await eventually(
        'mc install on east (the uninstalled namespace may still be terminating)',
        async () => {
          await ok('install', '--context', 'east');
          return true;
        },
        120_000,
      );
      const deployment = (await east.get({
        ...DeploymentKind,
        namespace: Multicluster.namespace,
        name: Multicluster.gateway,
      })) as Resource & { spec: { template: { metadata: Resource['metadata']; spec: unknown } } };
      assert.ok(deployment, 'mc install wrote the gateway Deployment');
      const template = deployment.spec.template;
      // There is no ReplicaSet controller: the pod is made from the template as one would.
      await east.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${Multicluster.gateway}-0`,
          namespace: Multicluster.namespace,
          labels: template.metadata.labels ?? {},
          annotations: { [POD_NETWORK_ANNOTATION]: 'namespace' },
        },
        spec: template.spec,
      } as Resource);
      gatewayIp = await ready(east, 'east', Multicluster.namespace, `${Multicluster.gateway}-0`);
      // The address a load balancer would publish: the gateway pod's own.
      await ok('install', '--context', 'east', '--gateway-address', gatewayIp);
      const service = await east.get<Service>({
        ...Kinds.Service,
        namespace: Multicluster.namespace,
        name: Multicluster.gateway,
      });
      assert.equal(service?.status?.loadBalancer?.ingress?.[0]?.ip, gatewayIp);
    },
  );
  if (!gatewayIp) return;

  await t.test('cross-cluster: an injected east backend, exported, is mirrored in west', async () => {
    shop = await freshNamespace(east, 'cross');
    await west.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: shop, annotations: { 'strait.io/inject': 'enabled' } },
    });
    await eventually('the default ServiceAccount in east', () =>
      east.get({ ...Kinds.ServiceAccount, namespace: shop, name: 'default' }),
    );
    await east.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'backend', namespace: shop },
    });
    await east.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: shop, labels: { [Labels.exported]: 'true' } },
      spec: {
        selector: { app: 'backend' },
        ports: [{ name: 'http', port: BACKEND_PORT, targetPort: BACKEND_PORT }],
      },
    } as Service);
    const plain: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'backend-0',
        namespace: shop,
        labels: { app: 'backend' },
        annotations: { 'strait.io/inject': 'enabled', [POD_NETWORK_ANNOTATION]: 'namespace' },
      },
      spec: {
        serviceAccountName: 'backend',
        containers: [
          {
            name: 'backend',
            image: 'strait/test-app',
            command: ['node', BACKEND_APP],
            env: [
              { name: 'HOST', value: '0.0.0.0' },
              { name: 'PORT', value: String(BACKEND_PORT) },
              { name: 'GRPC_PORT', value: String(uncommonPort()) },
              { name: 'STRAIT_CLUSTER', value: 'east' },
              { name: 'STRAIT_WORKLOAD_NAME', value: 'backend' },
            ],
            readinessProbe: { httpGet: { path: '/ready', port: BACKEND_PORT } },
          },
        ],
      },
    };
    const injected = injectPod(plain, { settings, version: '0.0.0-test', trustAnchorsPem: anchorsPem });
    assert.ok(injected.injected, injected.reason);
    await east.create(injected.pod as Resource);
    await ready(east, 'east', shop, 'backend-0');

    await ok('allow', '--context', 'east', '--name', 'west');
    await ok(
      'link',
      '--context',
      'west',
      '--target-context',
      'east',
      '--cluster-name',
      'east',
      '--service-account',
      'west',
    );
    mirror = startGroupProcess(
      'service mirror',
      process.execPath,
      [
        CMD('service-mirror'),
        '--kubeconfig',
        clusters.kubeconfig,
        '--context',
        'west',
        '--admin-addr',
        '127.0.0.1:0',
      ],
      {
        logFile: join(clusters.west.dir, 'service-mirror.log'),
        env: { ...process.env, STRAIT_HOME: home },
      },
    );
    const mirrored = await eventually('backend-east in west, ready at the gateway', async () => {
      assert.ok(!mirror?.done, `the service mirror exited:\n${mirror?.tail()}`);
      const service = await west.get<Service>({ ...Kinds.Service, namespace: shop, name: 'backend-east' });
      const endpoints = await west.get<Resource & { subsets?: { addresses?: { ip: string }[] }[] }>({
        ...Kinds.Endpoints,
        namespace: shop,
        name: 'backend-east',
      });
      const addresses = endpoints?.subsets?.flatMap((s) => s.addresses ?? []).map((a) => a.ip) ?? [];
      return service && addresses.includes(gatewayIp) ? service : undefined;
    });
    assert.ok(mirrored, 'the mirror exists');
  });
  if (!shop) return;

  await t.test(
    "cross-cluster: a west pod's request reaches the east backend through east's gateway, as the west pod's identity",
    async () => {
      await west.create({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'client', namespace: shop },
      });
      // The app calls the mirror by name; the name resolves to the mirror's cluster IP, as cluster
      // DNS would answer, and proxy-init's rules take the connection to the pod's proxy.
      const mirrorName = `backend-east.${shop}.svc.${settings.clusterDomain}`;
      const mirrorService = await west.get<Service>({
        ...Kinds.Service,
        namespace: shop,
        name: 'backend-east',
      });
      const clusterIp = mirrorService?.spec?.clusterIP;
      assert.ok(
        clusterIp && clusterIp !== 'None',
        `the mirror has a cluster IP: ${JSON.stringify(mirrorService?.spec)}`,
      );
      const created = (await west.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'client-0',
          namespace: shop,
          annotations: { [POD_NETWORK_ANNOTATION]: 'namespace' },
        },
        spec: {
          serviceAccountName: 'client',
          hostAliases: [{ ip: clusterIp, hostnames: [mirrorName] }],
          containers: [
            {
              name: 'client',
              image: 'strait/test-app',
              command: ['node', '-e', CALLER],
              env: [{ name: 'TARGET', value: `http://${mirrorName}:${BACKEND_PORT}/` }],
            },
          ],
        },
      } as Resource)) as Pod;
      assert.deepEqual(
        created.spec?.containers?.map((c) => c.name),
        ['strait-proxy', 'client'],
        "west's injector added the proxy",
      );
      await ready(west, 'west', shop, 'client-0');
      const log = join(clusters.west.dir, 'pods', `${shop}_client-0_client.log`);
      const answer = await eventually(
        'an answer from the east backend',
        async () => {
          const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
          const last = lines.at(-1);
          if (!last) return undefined;
          const parsed = JSON.parse(last) as { status?: number; body?: string; error?: string };
          if (parsed.status !== 200) throw new Error(`last answer: ${last}`);
          return JSON.parse(parsed.body as string) as Record<string, unknown>;
        },
        120_000,
      );
      assert.deepEqual(answer, { cluster: 'east', workload: 'backend', caller: clientIdentity(shop) });
      const metrics = await (await fetch(`http://${gatewayIp}:4191/metrics`)).text();
      const forwarded = /gateway_connections_total\{outcome="forwarded"\} (\d+)/.exec(metrics);
      assert.ok(Number(forwarded?.[1]) > 0, `the gateway forwarded the calls:\n${metrics}`);
    },
  );
}

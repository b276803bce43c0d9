import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import type { Endpoints } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { componentAddress, componentIdentity } from '../../../src/platform/kubernetes/manifests/settings.ts';
import { requestCredentials } from '../../../src/proxy/identity/index.ts';
import { connectEndpoint } from '../../../src/proxy/transport/connect.ts';
import { Credentials } from '../../../src/proxy/transport/credentials.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { startGroupProcess } from '../harness/processes.ts';
import { firstDestinationAddress, identityToken, type WestControlPlane } from './control-plane.ts';
import { eventually, storeOn, uncommonPort } from './fixtures.ts';

const INJECTOR = fileURLToPath(new URL('../../../src/cmd/injector.ts', import.meta.url));
const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
/** The app listens on every address, as apps in pods do. */
const APP_PORT = uncommonPort();
const SERVE =
  "require('node:net').createServer((s) => s.end('hello from web-0')).listen(Number(process.env.PORT))";
/** The injected proxy's inbound port, where meshed peers connect. */
const PROXY_INBOUND = 4143;

interface WebhookConfiguration extends Resource {
  webhooks: { clientConfig: { url?: string; caBundle: string }; failurePolicy: string }[];
}

/**
 * The proxy injector process behind the install's webhook configuration on
 * west: a pod created in an annotated namespace comes back with the proxy, one
 * elsewhere does not, and a malformed annotation is refused with the reason.
 * The configuration is removed at the end, so later pods are not sent to an
 * injector that has stopped.
 */
export async function injectorTests(
  t: TestContext,
  clusters: TestClusters,
  controlPlane: WestControlPlane,
): Promise<void> {
  const client = clusters.client('west');
  const suffix = randomBytes(3).toString('hex');
  const annotated = `inject-${suffix}`;
  const plain = `plain-${suffix}`;
  const tlsDir = join(clusters.west.dir, 'injector-tls');
  await mkdir(tlsDir, { recursive: true });
  await writeFile(join(tlsDir, 'tls.crt'), controlPlane.injectorTls.certPem);
  await writeFile(join(tlsDir, 'tls.key'), controlPlane.injectorTls.keyPem);
  const injector = startGroupProcess('proxy injector', process.execPath, [INJECTOR], {
    logFile: join(clusters.west.dir, 'injector.log'),
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: clusters.kubeconfig,
      STRAIT_INJECTOR_TLS_DIR: tlsDir,
      STRAIT_LISTEN_ADDR: '127.0.0.1:0',
    },
  });
  t.after(() => injector.stop(5_000));
  const webhook = structuredClone(
    controlPlane.resources.find((r) => r.kind === 'MutatingWebhookConfiguration'),
  ) as WebhookConfiguration;
  t.after(() =>
    client.request({ method: 'DELETE', path: `${WEBHOOKS}/${webhook.metadata.name}` }).catch(() => {}),
  );
  const create = async (path: string, body: unknown) =>
    (await client.request({ method: 'POST', path, body })) as { status: number; body: V1Pod };
  const pod = (namespace: string, name: string, annotations: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, annotations },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
  });
  const createPod = (namespace: string, body: unknown) =>
    create(`/api/v1/namespaces/${namespace}/pods`, body);

  await t.test(
    'injector: a pod created in an annotated namespace gets the proxy, through the install webhook configuration',
    async () => {
      const url = await eventually('the injector to serve', async () => {
        assert.ok(!injector.done, `the injector exited:\n${injector.tail()}`);
        return /serving on (https:\/\/\S+)/.exec(injector.tail())?.[1];
      });
      const hook = webhook.webhooks[0] as WebhookConfiguration['webhooks'][number];
      hook.clientConfig = { url: `${url}/inject`, caBundle: hook.clientConfig.caBundle };
      hook.failurePolicy = 'Fail';
      assert.equal((await create(WEBHOOKS, webhook)).status, 201);
      for (const [name, annotations] of [
        [annotated, { 'strait.io/inject': 'enabled' }],
        [plain, {}],
      ] as const) {
        const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } };
        assert.equal((await create('/api/v1/namespaces', namespace)).status, 201);
      }
      // Admission refuses pods until KCM has made the namespace's default ServiceAccount;
      // the API server's webhook client may need a moment after the configuration is created.
      const created = await eventually('an injected pod', async () => {
        const response = await createPod(annotated, pod(annotated, 'web'));
        if (response.status !== 201) return undefined;
        if ((response.body.spec?.containers.length ?? 0) > 1) return response;
        await client.request({
          method: 'DELETE',
          path: `/api/v1/namespaces/${annotated}/pods/web`,
          query: { gracePeriodSeconds: 0 },
        });
        await sleep(500);
        return undefined;
      });
      const spec = created.body.spec as NonNullable<V1Pod['spec']>;
      assert.deepEqual(
        spec.containers.map((c) => c.name),
        ['strait-proxy', 'web'],
      );
      assert.deepEqual(
        (spec.initContainers ?? []).map((c) => c.name),
        ['strait-init'],
      );
      const token = spec.volumes?.find((v) => v.name === 'strait-identity-token');
      assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'identity.strait.io');
      assert.equal(created.body.metadata?.labels?.['strait.io/control-plane-ns'], 'strait');

      const other = await eventually('a pod in the plain namespace', async () => {
        const response = await createPod(plain, pod(plain, 'web'));
        return response.status === 201 ? response : undefined;
      });
      assert.deepEqual(
        other.body.spec?.containers.map((c) => c.name),
        ['web'],
      );
    },
  );

  await t.test('injector: a pod whose annotation is malformed is refused with the reason', async () => {
    const bad = await createPod(
      annotated,
      pod(annotated, 'bad', { 'config.strait.io/skip-inbound-ports': 'ssh' }),
    );
    assert.notEqual(bad.status, 201);
    assert.match(JSON.stringify(bad.body), /skip-inbound-ports: \\"ssh\\" is not a port/);
    assert.ok(!injector.done, 'the injector keeps serving');
  });

  await injectedPodTests(t, clusters, controlPlane, annotated);
}

/** Reads everything the peer sends until it closes. */
async function readAll(socket: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of socket) text += String(chunk);
  return text;
}

/**
 * An injected pod in a fresh namespace, run by the west node: the proxy
 * container's own command with its projected token and the trust anchors the
 * injector inlined, talking to the control-plane
 * processes; the pod turns Ready on the proxy's readiness; destination gives
 * it an identity, and a meshed connection (mTLS with a transport header, as a
 * peer proxy makes) reaches the app through the proxy.
 */
async function injectedPodTests(
  t: TestContext,
  clusters: TestClusters,
  controlPlane: WestControlPlane,
  namespace: string,
): Promise<void> {
  const { settings } = controlPlane;
  const store = storeOn(clusters, 'west');
  const client = clusters.client('west');
  const identity = `web.${namespace}.serviceaccount.identity.${settings.controlPlaneNamespace}.${settings.trustDomain}`;
  let podIp = '';

  await t.test(
    'injected pod: the node runs its proxy, which gets a certificate, and the pod turns Ready',
    async () => {
      for (const component of ['identity', 'destination', 'policy'] as const) {
        clusters.serviceAddresses.west.set(
          componentAddress(settings, component),
          controlPlane.components[component].address,
        );
      }
      // identity signs with the rotated issuer: the bundle in the ConfigMap gains its anchor, as `strait upgrade` does.
      await store.patch(
        {
          ...Kinds.ConfigMap,
          namespace: settings.controlPlaneNamespace,
          name: 'strait-identity-trust-roots',
        },
        { data: { 'ca-bundle.crt': controlPlane.anchorsPem } },
      );
      const node = await clusters.node('west');
      // The namespace is fresh: nothing but the pod carries the trust anchors into it.
      assert.equal(
        await store.get({ ...Kinds.ConfigMap, namespace, name: 'strait-identity-trust-roots' }),
        undefined,
      );
      await store.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace } });
      await store.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace },
        spec: { selector: { app: 'web' }, ports: [{ name: 'tcp', port: 80, targetPort: APP_PORT }] },
      });
      const created = (await store.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web-0', namespace, labels: { app: 'web' } },
        spec: {
          serviceAccountName: 'web',
          containers: [
            {
              name: 'web',
              image: 'strait/test-app',
              command: ['node', '-e', SERVE],
              env: [{ name: 'PORT', value: String(APP_PORT) }],
              readinessProbe: { tcpSocket: { port: APP_PORT } },
            },
          ],
        },
      } as Resource)) as Resource & {
        spec?: { containers: { name: string; env?: { name: string; value?: string }[] }[] };
      };
      assert.deepEqual(
        created.spec?.containers.map((c) => c.name),
        ['strait-proxy', 'web'],
      );
      // The injector read the bundle at the pod's creation, so the rotated one is inlined.
      const proxyEnv = created.spec?.containers[0]?.env ?? [];
      assert.equal(
        proxyEnv.find((e) => e.name === 'STRAIT_PROXY_TRUST_BUNDLE')?.value,
        controlPlane.anchorsPem,
      );
      const pod = await eventually(
        'web-0 to be Ready',
        async () => {
          const failure = node.podFailure(namespace, 'web-0');
          if (failure) assert.fail(`the node could not run web-0: ${failure}`);
          const current = await store.get<
            Resource & { status?: { podIP?: string; conditions?: { type: string; status: string }[] } }
          >({ ...Kinds.Pod, namespace, name: 'web-0' });
          return current?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
            ? current
            : undefined;
        },
        120_000,
      );
      podIp = pod.status?.podIP as string;
      await eventually('a ready address for web-0', async () => {
        const endpoints = await store.get<Endpoints>({ ...Kinds.Endpoints, namespace, name: 'web' });
        return endpoints?.subsets?.some((subset) => subset.addresses?.some((a) => a.ip === podIp));
      });
      // The proxy reports its certificate's identity on the admin port.
      const metrics = await (await fetch(`http://${podIp}:4191/ready`)).text();
      assert.match(metrics, /ready/);
      assert.ok(await client.request({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods/web-0` }));
    },
  );

  await t.test('injected pod: destination gives it the identity of its ServiceAccount', async () => {
    const address = await firstDestinationAddress(
      { address: controlPlane.components.destination.address, anchorsPem: controlPlane.anchorsPem, settings },
      `web.${namespace}.svc.cluster.local:80`,
    );
    assert.equal(address?.addr?.ip, podIp);
    assert.equal(address?.tlsIdentity, identity);
  });

  await t.test('injected pod: a meshed connection reaches the app through its proxy', async () => {
    const issued = await requestCredentials(
      {
        address: controlPlane.components.identity.address,
        serverIdentity: componentIdentity(settings, 'identity'),
        trustBundlePem: controlPlane.anchorsPem,
      },
      {
        identity: `default.${namespace}.serviceaccount.identity.${settings.controlPlaneNamespace}.${settings.trustDomain}`,
        token: new TextEncoder().encode(await identityToken(client, namespace, 'default')),
      },
    );
    const credentials = new Credentials({
      certChain: issued.chainPem,
      key: issued.keyPem,
      trustBundle: controlPlane.anchorsPem,
    });
    // The pod's TCP readiness probe is answered by its proxy (proxy-init redirects it), so Ready
    // does not say the app listens yet: ask until it answers.
    const answer = await eventually(
      "web-0's app to answer through its proxy",
      async () => {
        const socket = await connectEndpoint(
          {
            address: podIp,
            port: APP_PORT,
            weight: 1,
            labels: {},
            tlsIdentity: identity,
            opaqueTransportPort: PROXY_INBOUND,
          },
          { credentials, protocol: 'opaque', connectTimeoutMs: 10_000 },
        );
        const text = await readAll(socket);
        return text === '' ? undefined : text;
      },
      // The app's container starts after the proxy's; on a loaded machine that has taken over 20 s.
      60_000,
    );
    assert.equal(answer, 'hello from web-0');
  });
}

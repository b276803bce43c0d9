import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import {
  DestinationService,
  type WeightedAddr,
} from '../../../src/gen/strait/destination/v1/destination_pb.js';
import { InboundPolicyService } from '../../../src/gen/strait/policy/v1/policy_pb.js';
import type { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { checkInstallIdentity } from '../../../src/platform/kubernetes/manifests/identity-material.ts';
import { renderInstall } from '../../../src/platform/kubernetes/manifests/install.ts';
import {
  componentIdentity,
  defaultMeshSettings,
  type MeshSettings,
} from '../../../src/platform/kubernetes/manifests/settings.ts';
import { KUBERNETES_IDENTITY_AUDIENCE } from '../../../src/platform/kubernetes/token-review-validator.ts';
import { requestServiceAccountToken } from '../../../src/platform/kubernetes/tokens.ts';
import { createApiCertificates } from '../../../src/platform/local/api/serving-certificate.ts';
import { CertifyError, requestCredentials } from '../../../src/proxy/identity/index.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { applyAsKubectl, eventually, freshNamespace, storeOn, uncommonPort } from './fixtures.ts';

const CMD = (name: string) => fileURLToPath(new URL(`../../../src/cmd/${name}.ts`, import.meta.url));
const PKI = fileURLToPath(new URL('../../../testdata/manifests/pki/', import.meta.url));

const APP_PORT = uncommonPort();
const SERVE =
  "require('node:net').createServer((s) => s.end('ok')).listen(Number(process.env.PORT), process.env.POD_IP)";

/** A control-plane entry point running as a process, and where it serves. */
export interface Component {
  child: ChildProcess;
  address: string;
  output: () => string;
}

/** What `strait install` put on west, and the identity, destination and policy processes serving it. */
export interface WestControlPlane {
  settings: MeshSettings;
  anchorsPem: string;
  /** Everything `strait install` prints, as rendered for west. */
  resources: Resource[];
  /** The proxy injector's serving certificate (the install's webhook caBundle signs it). */
  injectorTls: { certPem: string; keyPem: string };
  components: Record<'identity' | 'destination' | 'policy', Component>;
}

/** Starts an entry point and waits for its "serving on host:port" line. */
export async function startComponent(name: string, env: NodeJS.ProcessEnv): Promise<Component> {
  const child = spawn(process.execPath, [CMD(name)], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start in time:\n${out}`));
    }, 120_000);
    child.stdout?.on('data', () => {
      const match = /serving on (\S+:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}):\n${out}`));
    });
  });
  return { child, address, output: () => out };
}

function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** A projected-style token of `account` for identity's audience. */
export async function identityToken(client: KubeClient, namespace: string, account: string): Promise<string> {
  const { token } = await requestServiceAccountToken(client, namespace, account, {
    audiences: [KUBERNETES_IDENTITY_AUDIENCE],
    expirationSeconds: 3600,
  });
  return token;
}

/**
 * The first address a destination process streams for `path` (`<svc>.<ns>.svc.<domain>:<port>`),
 * asked over TLS as a proxy asks; the stream is cancelled once it has answered.
 */
export async function firstDestinationAddress(
  destination: { address: string; anchorsPem: string; settings: MeshSettings },
  path: string,
): Promise<WeightedAddr | undefined> {
  const client = createRpcClient(DestinationService, {
    address: destination.address,
    ca: destination.anchorsPem,
    serverIdentity: componentIdentity(destination.settings, 'destination'),
  });
  const abort = new AbortController();
  try {
    for await (const update of client.get({ path }, { signal: abort.signal })) {
      if (update.update.case === 'add') return update.update.value.addrs[0];
    }
    return undefined;
  } finally {
    abort.abort();
  }
}

/** Where a cluster's control-plane processes read the issuer and the trust anchors. */
function controlPlaneFiles(files: string): { issuerDir: string; anchorsFile: string } {
  return { issuerDir: join(files, 'issuer'), anchorsFile: join(files, 'ca-bundle.crt') };
}

/**
 * Starts identity, destination and policy against one cluster as processes,
 * each put into `components` as it comes up (so the caller's cleanup sees every
 * one): identity signs with the test issuer under `anchorsPem`; destination and
 * policy get their certificates from it with TokenRequest tokens for their
 * ServiceAccounts.
 */
export async function startControlPlaneProcesses(options: {
  kubeconfig: string;
  client: KubeClient;
  /** A directory of its own for this cluster's control plane. */
  files: string;
  anchorsPem: string;
  settings: MeshSettings;
  components: Partial<WestControlPlane['components']>;
  identityEnv?: NodeJS.ProcessEnv;
}): Promise<void> {
  const { client, files, settings, components } = options;
  const { issuerDir, anchorsFile } = controlPlaneFiles(files);
  await mkdir(issuerDir, { recursive: true });
  await writeFile(anchorsFile, options.anchorsPem);
  await copyFile(join(PKI, 'issuer.crt'), join(issuerDir, 'tls.crt'));
  await copyFile(join(PKI, 'issuer.key'), join(issuerDir, 'tls.key'));
  const common = {
    KUBECONFIG: options.kubeconfig,
    STRAIT_CONTROL_PLANE_NAMESPACE: settings.controlPlaneNamespace,
    STRAIT_TRUST_DOMAIN: settings.trustDomain,
    STRAIT_CLUSTER_DOMAIN: settings.clusterDomain,
    STRAIT_LISTEN_ADDR: '127.0.0.1:0',
    STRAIT_TRUST_ANCHORS_FILE: anchorsFile,
  };
  const identity = await startComponent('identity', {
    ...common,
    STRAIT_IDENTITY_ISSUER_DIR: issuerDir,
    ...options.identityEnv,
  });
  components.identity = identity;
  // The ServiceAccounts' token controller runs in KCM; TokenRequest needs only the account.
  for (const component of ['destination', 'policy'] as const) {
    const tokenFile = join(files, `${component}-token`);
    await writeFile(
      tokenFile,
      await identityToken(client, settings.controlPlaneNamespace, `strait-${component}`),
    );
    components[component] = await startComponent(component, {
      ...common,
      STRAIT_IDENTITY_ADDR: identity.address,
      STRAIT_IDENTITY_TOKEN_FILE: tokenFile,
    });
  }
}

/**
 * The control plane's Kubernetes entry points (src/cmd/{identity,destination,policy}.ts)
 * as processes against west: the API server takes every object `strait install`
 * prints; identity signs for real projected service-account tokens, destination
 * and policy get their serving certificates from it and answer for a Pod the
 * harness node runs. The processes keep running for later suites; stop them
 * with controlPlaneShutdownTests.
 */
export async function controlPlaneTests(
  t: TestContext,
  clusters: TestClusters,
): Promise<WestControlPlane | undefined> {
  const settings = defaultMeshSettings();
  const ns = settings.controlPlaneNamespace;
  const client = clusters.client('west');
  const store = storeOn(clusters, 'west');
  const files = join(clusters.west.dir, 'control-plane');
  const components: Partial<WestControlPlane['components']> = {};
  t.after(() => {
    for (const component of Object.values(components)) component.child.kill('SIGKILL');
  });
  const pem = (name: string) => ({ pem: readFileSync(join(PKI, name), 'utf8'), source: name });
  const identity = checkInstallIdentity(pem('anchor.crt'), pem('issuer.crt'), pem('issuer.key'));
  const anchorsPem = identity.trustAnchorsPem;
  const tls = await createApiCertificates({
    clusterName: 'injector',
    ipAddresses: ['127.0.0.1'],
    dnsNames: [],
  });
  const resources = renderInstall({
    settings,
    version: '0.0.0-test',
    trustAnchorsPem: anchorsPem,
    issuer: identity.issuer,
    injectorTls: { caPem: tls.caCertPem, certPem: tls.certPem, keyPem: tls.keyPem },
  });
  const { issuerDir, anchorsFile } = controlPlaneFiles(files);
  let shop = '';
  let podIp = '';
  const wanted = () => `backend.${shop}.serviceaccount.identity.${ns}.${settings.trustDomain}`;
  const endpoint = (trustBundlePem = anchorsPem) => ({
    address: components.identity?.address as string,
    serverIdentity: componentIdentity(settings, 'identity'),
    trustBundlePem,
  });

  await t.test('install: the API server takes every object strait install prints', async () => {
    // The CRDs are there already; the webhook configuration comes with the injector suite,
    // which runs the injector it calls.
    await applyAsKubectl(
      client,
      resources.filter((r) => r.kind !== 'MutatingWebhookConfiguration'),
    );
  });

  await t.test(
    'control plane: identity, destination and policy start as processes against west',
    async () => {
      await startControlPlaneProcesses({
        kubeconfig: clusters.kubeconfig,
        client,
        files,
        anchorsPem,
        settings,
        components,
        // The rotation test below swaps the issuer files and waits for identity to notice.
        identityEnv: { STRAIT_IDENTITY_ISSUER_POLL_MS: '200' },
      });
    },
  );
  if (!components.identity || !components.destination || !components.policy) return undefined;

  await t.test('control plane: a meshed Pod behind a Service (the harness node, KCM endpoints)', async () => {
    await clusters.node('west');
    shop = await freshNamespace(store, 'shop');
    await eventually('the default ServiceAccount', async () =>
      store.get({ ...Kinds.ServiceAccount, namespace: shop, name: 'default' }),
    );
    for (const name of ['backend', 'intruder']) {
      await store.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: shop } });
    }
    const app = (extra: Record<string, unknown>[] = []) => ({
      serviceAccountName: 'backend',
      containers: [
        {
          name: 'app',
          image: 'strait/test-app',
          command: ['node', '-e', SERVE],
          env: [{ name: 'PORT', value: String(APP_PORT) }],
          readinessProbe: { tcpSocket: { port: APP_PORT } },
        },
        ...extra,
      ],
    });
    // backend-0 has the proxy container (not run: no command); plain-0 is the same app without it.
    for (const [name, spec] of [
      ['backend', app([{ name: 'strait-proxy', image: settings.image }])],
      ['plain', app()],
    ] as const) {
      await store.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: shop },
        spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: APP_PORT }] },
      });
      await store.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${name}-0`, namespace: shop, labels: { app: name } },
        spec,
      });
    }
    podIp = await eventually('the pod to be ready', async () => {
      const pod = await store.get<Resource & { status?: { podIP?: string; phase?: string } }>({
        ...Kinds.Pod,
        namespace: shop,
        name: 'backend-0',
      });
      return pod?.status?.phase === 'Running' ? pod.status.podIP : undefined;
    });
  });

  await t.test('identity certifies a CSR for a projected ServiceAccount token', async () => {
    const credentials = await requestCredentials(endpoint(), {
      identity: wanted(),
      token: new TextEncoder().encode(await identityToken(client, shop, 'backend')),
    });
    assert.equal(credentials.identity, wanted());
    assert.ok(credentials.notAfter.getTime() > Date.now());
  });

  await t.test("identity refuses another ServiceAccount's token and keeps serving", async () => {
    await assert.rejects(
      requestCredentials(endpoint(), {
        identity: wanted(),
        token: new TextEncoder().encode(await identityToken(client, shop, 'intruder')),
      }),
      (error: unknown) => {
        assert.ok(error instanceof CertifyError);
        assert.match(
          error.message,
          new RegExp(`intruder\\.${shop}\\.serviceaccount.*not "backend\\.${shop}`),
        );
        return true;
      },
    );
    // A token for the API server's own audience is not a credential for identity.
    const apiToken = (await requestServiceAccountToken(client, shop, 'backend')).token;
    await assert.rejects(
      requestCredentials(endpoint(), { identity: wanted(), token: new TextEncoder().encode(apiToken) }),
      CertifyError,
    );
    assert.equal(components.identity?.child.exitCode, null);
    assert.match(components.identity?.output() ?? '', new RegExp(`refused backend\\.${shop}`));
  });

  await t.test(
    'identity signs with a new issuer under a new anchor once the ConfigMap and Secret files change',
    async () => {
      const body = (text: string) => text.replace(/-----[A-Z ]+-----|\s/g, '');
      const bundle = `${anchorsPem.trim()}\n${readFileSync(join(PKI, 'anchor-2.crt'), 'utf8')}`;
      const certify = async () =>
        requestCredentials(endpoint(bundle), {
          identity: wanted(),
          token: new TextEncoder().encode(await identityToken(client, shop, 'backend')),
        });
      const before = await certify();
      assert.ok(body(before.chainPem).includes(body(readFileSync(join(PKI, 'issuer.crt'), 'utf8'))));
      // strait upgrade: the bundle gains anchor-2 and the Secret gets issuer-2, in either order.
      await copyFile(join(PKI, 'issuer-2.key'), join(issuerDir, 'tls.key'));
      await copyFile(join(PKI, 'issuer-2.crt'), join(issuerDir, 'tls.crt'));
      await writeFile(anchorsFile, bundle);
      const issuer2 = body(readFileSync(join(PKI, 'issuer-2.crt'), 'utf8'));
      await eventually('a certificate from issuer-2', async () => {
        const after = await certify();
        return body(after.chainPem).includes(issuer2) ? after : undefined;
      });
      assert.match(components.identity?.output() ?? '', /trust anchors reloaded from/);
      assert.match(components.identity?.output() ?? '', /issuer reloaded from/);
    },
  );

  await t.test(
    "destination streams the Pod's address and identity from the Service's endpoints",
    async () => {
      const address = await firstDestinationAddress(
        { address: components.destination?.address as string, anchorsPem, settings },
        `backend.${shop}.svc.cluster.local:80`,
      );
      assert.equal(address?.addr?.ip, podIp);
      assert.equal(address?.addr?.port, APP_PORT);
      assert.equal(address?.tlsIdentity, wanted());
    },
  );

  await t.test('destination gives a Pod without the proxy container no identity', async () => {
    const address = await firstDestinationAddress(
      { address: components.destination?.address as string, anchorsPem, settings },
      `plain.${shop}.svc.cluster.local:80`,
    );
    assert.equal(address?.addr?.port, APP_PORT);
    assert.notEqual(address?.addr?.ip, podIp);
    assert.equal(address?.tlsIdentity, '');
  });

  await t.test("policy answers WatchPort for the Pod's port", async () => {
    const policy = createRpcClient(InboundPolicyService, {
      address: components.policy?.address as string,
      ca: anchorsPem,
      serverIdentity: componentIdentity(settings, 'policy'),
    });
    const abort = new AbortController();
    try {
      for await (const server of policy.watchPort(
        { workload: `${shop}/backend-0`, port: APP_PORT },
        { signal: abort.signal },
      )) {
        assert.ok(server.protocol?.kind.case, 'a protocol for the port');
        assert.ok(server.authorizations.length > 0, 'the default policy admits someone');
        break;
      }
    } finally {
      abort.abort();
    }
  });

  return {
    settings,
    anchorsPem: `${anchorsPem.trim()}\n${readFileSync(join(PKI, 'anchor-2.crt'), 'utf8')}`,
    resources,
    injectorTls: { certPem: tls.certPem, keyPem: tls.keyPem },
    components: components as WestControlPlane['components'],
  };
}

/** SIGTERM drains each control-plane process and it exits 0. */
export async function controlPlaneShutdownTests(
  t: TestContext,
  controlPlane: WestControlPlane,
): Promise<void> {
  await t.test('control plane: SIGTERM drains each process and it exits 0', async () => {
    for (const name of ['policy', 'destination', 'identity'] as const) {
      const component = controlPlane.components[name];
      component.child.kill('SIGTERM');
      assert.equal(await exitCode(component.child), 0, `${name}:\n${component.output()}`);
    }
  });
}

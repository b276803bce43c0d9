// The control plane's Kubernetes entry points (src/cmd/{identity,destination,policy}.ts)
// as processes against a real kube-apiserver: identity signs for real projected
// service-account tokens, destination and policy get their serving certificates
// from it, and both answer for a Pod the harness node runs. Skips without Go outside CI.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { DestinationService } from '../../../src/gen/strait/destination/v1/destination_pb.js';
import { InboundPolicyService } from '../../../src/gen/strait/policy/v1/policy_pb.js';
import { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import { checkInstallIdentity } from '../../../src/platform/kubernetes/manifests/identity-material.ts';
import { renderInstall } from '../../../src/platform/kubernetes/manifests/install.ts';
import {
  componentIdentity,
  defaultMeshSettings,
} from '../../../src/platform/kubernetes/manifests/settings.ts';
import { KubernetesStore } from '../../../src/platform/kubernetes/store.ts';
import { KUBERNETES_IDENTITY_AUDIENCE } from '../../../src/platform/kubernetes/token-review-validator.ts';
import { requestServiceAccountToken } from '../../../src/platform/kubernetes/tokens.ts';
import { createApiCertificates } from '../../../src/platform/local/api/serving-certificate.ts';
import { CertifyError, requestCredentials } from '../../../src/proxy/identity/index.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { goInstalled, kubeBinaries } from '../harness/binaries.ts';
import { startCluster, type TestCluster } from '../harness/cluster.ts';
import { formatKubeconfig } from '../harness/kubeconfig.ts';
import { HarnessNode } from '../harness/node.ts';
import { processRuntime } from '../harness/process-runtime.ts';
import { claimStateDir, reapStaleClusters } from '../harness/stale.ts';
import { eventually } from '../suites/fixtures.ts';

const CMD = (name: string) => fileURLToPath(new URL(`../../../src/cmd/${name}.ts`, import.meta.url));
const PKI = fileURLToPath(new URL('../../../testdata/manifests/pki/', import.meta.url));
const skip = !goInstalled() && process.env.CI !== 'true' ? 'Go is not installed: no kube-apiserver' : false;

/** An uncommon port, so no wildcard listener of another test answers on the pod address. */
const APP_PORT = 20_000 + randomInt(20_000);
const SERVE =
  "require('node:net').createServer((s) => s.end('ok')).listen(Number(process.env.PORT), process.env.POD_IP)";

interface Component {
  child: ChildProcess;
  address: string;
  output: () => string;
}

/** Starts an entry point and waits for its "serving on host:port" line. */
async function startComponent(name: string, env: NodeJS.ProcessEnv): Promise<Component> {
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

describe('control-plane processes on a real API server', { skip, timeout: 1_800_000 }, () => {
  const settings = defaultMeshSettings();
  const ns = settings.controlPlaneNamespace;
  let root: string;
  let cluster: TestCluster | undefined;
  let client: KubeClient;
  let store: KubernetesStore;
  let node: HarnessNode | undefined;
  let anchorsPem: string;
  const components: Record<string, Component> = {};
  let podIp = '';
  let issuerDir = '';
  let anchorsFile = '';

  const token = async (namespace: string, account: string) =>
    (
      await requestServiceAccountToken(client, namespace, account, {
        audiences: [KUBERNETES_IDENTITY_AUDIENCE],
        expirationSeconds: 3600,
      })
    ).token;

  before(async () => {
    const binaries = await kubeBinaries();
    const parent = process.env.STRAIT_KUBE_STATE ?? '/dev/shm';
    reapStaleClusters(parent, 'strait-kube-');
    root = await mkdtemp(join(parent, 'strait-kube-'));
    claimStateDir(root);
    cluster = await startCluster({
      name: 'west',
      dir: join(root, 'west'),
      binaries,
      serviceCidr: '10.97.0.0/16',
    });
    const kubeconfig = join(root, 'kubeconfig');
    await writeFile(kubeconfig, formatKubeconfig([cluster.entry]));
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    client = new KubeClient(config);
    store = new KubernetesStore(client, { extraKinds: Object.values(KubernetesKinds) });

    // Everything `strait install` prints but the workloads (no kubelet runs them) and the webhook.
    const pem = (name: string) => ({ pem: readFileSync(join(PKI, name), 'utf8'), source: name });
    const identity = checkInstallIdentity(pem('anchor.crt'), pem('issuer.crt'), pem('issuer.key'));
    anchorsPem = identity.trustAnchorsPem;
    const tls = await createApiCertificates({
      clusterName: 'injector',
      ipAddresses: ['127.0.0.1'],
      dnsNames: [],
    });
    const install = renderInstall({
      settings,
      version: '0.0.0-test',
      trustAnchorsPem: anchorsPem,
      issuer: identity.issuer,
      injectorTls: { caPem: tls.caCertPem, certPem: tls.certPem, keyPem: tls.keyPem },
    }).filter((r) => !['Deployment', 'MutatingWebhookConfiguration'].includes(r.kind));
    for (const resource of install) {
      await store.apply(resource, { fieldManager: 'strait-test', force: true });
    }

    const files = join(root, 'files');
    await mkdir(join(files, 'issuer'), { recursive: true });
    anchorsFile = join(files, 'ca-bundle.crt');
    await writeFile(anchorsFile, anchorsPem);
    await copyFile(join(PKI, 'issuer.crt'), join(files, 'issuer', 'tls.crt'));
    await copyFile(join(PKI, 'issuer.key'), join(files, 'issuer', 'tls.key'));
    const common = {
      KUBECONFIG: kubeconfig,
      STRAIT_CONTROL_PLANE_NAMESPACE: ns,
      STRAIT_TRUST_DOMAIN: settings.trustDomain,
      STRAIT_CLUSTER_DOMAIN: settings.clusterDomain,
      STRAIT_LISTEN_ADDR: '127.0.0.1:0',
      STRAIT_TRUST_ANCHORS_FILE: join(files, 'ca-bundle.crt'),
    };
    components.identity = await startComponent('identity', {
      ...common,
      STRAIT_IDENTITY_ISSUER_DIR: join(files, 'issuer'),
      STRAIT_IDENTITY_ISSUER_POLL_MS: '200',
    });
    issuerDir = join(files, 'issuer');
    // The ServiceAccounts' token controller runs in KCM; TokenRequest needs only the account.
    for (const component of ['destination', 'policy'] as const) {
      const tokenFile = join(files, `${component}-token`);
      await writeFile(tokenFile, await token(ns, `strait-${component}`));
      components[component] = await startComponent(component, {
        ...common,
        STRAIT_IDENTITY_ADDR: components.identity.address,
        STRAIT_IDENTITY_TOKEN_FILE: tokenFile,
      });
    }

    node = new HarnessNode({
      store,
      client,
      name: 'control-plane-node',
      podNetwork: `198.20.${randomInt(0, 256)}`,
      runtime: processRuntime(join(root, 'pods')),
    });
    await node.start();
  });

  after(async () => {
    for (const component of Object.values(components)) component.child.kill('SIGKILL');
    await node?.stop();
    await cluster?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('runs a meshed Pod behind a Service (the harness node, KCM endpoints)', async () => {
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    await eventually('the default ServiceAccount', async () =>
      store.get({ ...Kinds.ServiceAccount, namespace: 'shop', name: 'default' }),
    );
    for (const name of ['backend', 'intruder']) {
      await store.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'shop' } });
    }
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: 'shop' },
      spec: { selector: { app: 'backend' }, ports: [{ name: 'http', port: 80, targetPort: APP_PORT }] },
    });
    await store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'backend-0', namespace: 'shop', labels: { app: 'backend' } },
      spec: {
        serviceAccountName: 'backend',
        containers: [
          {
            name: 'app',
            image: 'strait/test-app',
            command: ['node', '-e', SERVE],
            env: [{ name: 'PORT', value: String(APP_PORT) }],
            ports: [{ containerPort: APP_PORT }],
            readinessProbe: { tcpSocket: { port: APP_PORT } },
          },
          { name: 'strait-proxy', image: settings.image },
        ],
      },
    });
    // The same app without the proxy container, behind its own Service: not meshed.
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'plain', namespace: 'shop' },
      spec: { selector: { app: 'plain' }, ports: [{ name: 'http', port: 80, targetPort: APP_PORT }] },
    });
    await store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'plain-0', namespace: 'shop', labels: { app: 'plain' } },
      spec: {
        serviceAccountName: 'backend',
        containers: [
          {
            name: 'app',
            image: 'strait/test-app',
            command: ['node', '-e', SERVE],
            env: [{ name: 'PORT', value: String(APP_PORT) }],
            readinessProbe: { tcpSocket: { port: APP_PORT } },
          },
        ],
      },
    });
    podIp = await eventually('the pod to be ready', async () => {
      const pod = await store.get<Resource & { status?: { podIP?: string; phase?: string } }>({
        ...Kinds.Pod,
        namespace: 'shop',
        name: 'backend-0',
      });
      return pod?.status?.phase === 'Running' ? pod.status.podIP : undefined;
    });
  });

  it('identity certifies a CSR for a projected ServiceAccount token', async () => {
    const identity = componentIdentity({ ...settings }, 'identity');
    const wanted = 'backend.shop.serviceaccount.identity.strait.cluster.local';
    const credentials = await requestCredentials(
      {
        address: components.identity?.address as string,
        serverIdentity: identity,
        trustBundlePem: anchorsPem,
      },
      { identity: wanted, token: new TextEncoder().encode(await token('shop', 'backend')) },
    );
    assert.equal(credentials.identity, wanted);
    assert.ok(credentials.notAfter.getTime() > Date.now());
  });

  it("identity refuses another ServiceAccount's token and keeps serving", async () => {
    const endpoint = {
      address: components.identity?.address as string,
      serverIdentity: componentIdentity(settings, 'identity'),
      trustBundlePem: anchorsPem,
    };
    const wanted = 'backend.shop.serviceaccount.identity.strait.cluster.local';
    await assert.rejects(
      requestCredentials(endpoint, {
        identity: wanted,
        token: new TextEncoder().encode(await token('shop', 'intruder')),
      }),
      (error: unknown) => {
        assert.ok(error instanceof CertifyError);
        assert.match(error.message, /intruder\.shop\.serviceaccount.*not "backend\.shop/);
        return true;
      },
    );
    // A token for the API server's own audience is not a credential for identity.
    const apiToken = (await requestServiceAccountToken(client, 'shop', 'backend')).token;
    await assert.rejects(
      requestCredentials(endpoint, { identity: wanted, token: new TextEncoder().encode(apiToken) }),
      CertifyError,
    );
    assert.equal(components.identity?.child.exitCode, null);
    assert.match(components.identity?.output() ?? '', /refused backend\.shop/);
  });

  it('identity signs with a new issuer under a new anchor once the ConfigMap and Secret files change', async () => {
    const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');
    const endpoint = {
      address: components.identity?.address as string,
      serverIdentity: componentIdentity(settings, 'identity'),
      trustBundlePem: `${anchorsPem.trim()}\n${readFileSync(join(PKI, 'anchor-2.crt'), 'utf8')}`,
    };
    const wanted = 'backend.shop.serviceaccount.identity.strait.cluster.local';
    const certify = async () =>
      requestCredentials(endpoint, {
        identity: wanted,
        token: new TextEncoder().encode(await token('shop', 'backend')),
      });
    const before = await certify();
    assert.ok(body(before.chainPem).includes(body(readFileSync(join(PKI, 'issuer.crt'), 'utf8'))));
    // strait upgrade: the bundle gains anchor-2 and the Secret gets issuer-2, in either order.
    await copyFile(join(PKI, 'issuer-2.key'), join(issuerDir, 'tls.key'));
    await copyFile(join(PKI, 'issuer-2.crt'), join(issuerDir, 'tls.crt'));
    await writeFile(anchorsFile, endpoint.trustBundlePem);
    const issuer2 = body(readFileSync(join(PKI, 'issuer-2.crt'), 'utf8'));
    await eventually('a certificate from issuer-2', async () => {
      const after = await certify();
      return body(after.chainPem).includes(issuer2) ? after : undefined;
    });
    assert.match(components.identity?.output() ?? '', /trust anchors reloaded from/);
    assert.match(components.identity?.output() ?? '', /issuer reloaded from/);
  });

  it("destination streams the Pod's address and identity from the Service's endpoints", async () => {
    const destination = createRpcClient(DestinationService, {
      address: components.destination?.address as string,
      ca: anchorsPem,
      serverIdentity: componentIdentity(settings, 'destination'),
    });
    const abort = new AbortController();
    try {
      for await (const update of destination.get(
        { path: 'backend.shop.svc.cluster.local:80' },
        { signal: abort.signal },
      )) {
        if (update.update.case !== 'add') continue;
        const [endpoint] = update.update.value.addrs;
        assert.equal(endpoint?.addr?.ip, podIp);
        assert.equal(endpoint?.addr?.port, APP_PORT);
        assert.equal(endpoint?.tlsIdentity, 'backend.shop.serviceaccount.identity.strait.cluster.local');
        break;
      }
    } finally {
      abort.abort();
    }
  });

  it('destination gives a Pod without the proxy container no identity', async () => {
    const destination = createRpcClient(DestinationService, {
      address: components.destination?.address as string,
      ca: anchorsPem,
      serverIdentity: componentIdentity(settings, 'destination'),
    });
    const abort = new AbortController();
    try {
      for await (const update of destination.get(
        { path: 'plain.shop.svc.cluster.local:80' },
        { signal: abort.signal },
      )) {
        if (update.update.case !== 'add') continue;
        const [endpoint] = update.update.value.addrs;
        assert.equal(endpoint?.addr?.port, APP_PORT);
        assert.notEqual(endpoint?.addr?.ip, podIp);
        assert.equal(endpoint?.tlsIdentity, '');
        break;
      }
    } finally {
      abort.abort();
    }
  });

  it("policy answers WatchPort for the Pod's port", async () => {
    const policy = createRpcClient(InboundPolicyService, {
      address: components.policy?.address as string,
      ca: anchorsPem,
      serverIdentity: componentIdentity(settings, 'policy'),
    });
    const abort = new AbortController();
    try {
      for await (const server of policy.watchPort(
        { workload: 'shop/backend-0', port: APP_PORT },
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

  it('SIGTERM drains each process and it exits 0', async () => {
    for (const name of ['policy', 'destination', 'identity']) {
      const component = components[name] as Component;
      component.child.kill('SIGTERM');
      assert.equal(await exitCode(component.child), 0, `${name}:\n${component.output()}`);
    }
  });
});

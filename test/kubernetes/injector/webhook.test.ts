// The proxy injector against a real kube-apiserver: the API server accepts
// every object `strait install` prints, and, with the install's webhook
// configuration pointed at a local injector process, a pod created in an
// annotated namespace comes back with the proxy. Skips without Go outside CI.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Resource } from '../../../src/core/resource.ts';
import { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { checkInstallIdentity } from '../../../src/platform/kubernetes/manifests/identity-material.ts';
import { renderInstall } from '../../../src/platform/kubernetes/manifests/install.ts';
import { defaultMeshSettings } from '../../../src/platform/kubernetes/manifests/settings.ts';
import { apiPrefix } from '../../../src/platform/kubernetes/paths.ts';
import { createApiCertificates } from '../../../src/platform/local/api/serving-certificate.ts';
import { goInstalled, kubeBinaries } from '../harness/binaries.ts';
import { startCluster, type TestCluster } from '../harness/cluster.ts';
import { formatKubeconfig } from '../harness/kubeconfig.ts';
import { claimStateDir, reapStaleClusters } from '../harness/stale.ts';

const INJECTOR = fileURLToPath(new URL('../../../src/cmd/injector.ts', import.meta.url));
const PKI = fileURLToPath(new URL('../../../testdata/manifests/pki/', import.meta.url));
const skip = !goInstalled() && process.env.CI !== 'true' ? 'Go is not installed: no kube-apiserver' : false;

function pathOf(resource: Resource): string {
  const plural = `${resource.kind.toLowerCase()}s`;
  const ns = resource.metadata.namespace ? `/namespaces/${resource.metadata.namespace}` : '';
  return `${apiPrefix(resource.apiVersion)}${ns}/${plural}`;
}

describe('proxy injector on a real API server', { skip, timeout: 1_800_000 }, () => {
  let root: string;
  let cluster: TestCluster | undefined;
  let client: KubeClient;
  let injector: ChildProcess | undefined;
  let injectorUrl = '';
  let resources: Resource[];

  const create = async (resource: unknown) => {
    const response = await client.request({
      method: 'POST',
      path: pathOf(resource as Resource),
      body: resource,
    });
    return response as { status: number; body: V1Pod };
  };

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
      serviceCidr: '10.98.0.0/16',
    });
    const kubeconfig = join(root, 'kubeconfig');
    await writeFile(kubeconfig, formatKubeconfig([cluster.entry]));
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    client = new KubeClient(config);

    const pem = (name: string) => ({ pem: readFileSync(join(PKI, name), 'utf8'), source: name });
    const identity = checkInstallIdentity(pem('anchor.crt'), pem('issuer.crt'), pem('issuer.key'));
    const tls = await createApiCertificates({
      clusterName: 'injector',
      ipAddresses: ['127.0.0.1'],
      dnsNames: [],
    });
    resources = renderInstall({
      settings: defaultMeshSettings(),
      version: '0.0.0-test',
      trustAnchorsPem: identity.trustAnchorsPem,
      issuer: identity.issuer,
      injectorTls: { caPem: tls.caCertPem, certPem: tls.certPem, keyPem: tls.keyPem },
    });
    const tlsDir = join(root, 'injector-tls');
    await mkdir(tlsDir);
    await writeFile(join(tlsDir, 'tls.crt'), tls.certPem);
    await writeFile(join(tlsDir, 'tls.key'), tls.keyPem);
    injector = spawn(process.execPath, [INJECTOR], {
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        STRAIT_INJECTOR_TLS_DIR: tlsDir,
        STRAIT_LISTEN_ADDR: '127.0.0.1:0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    injector.stdout?.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      injector?.stdout?.on('data', (chunk: string) => {
        out += chunk;
        const match = /serving on (https:\/\/\S+)/.exec(out);
        if (match) resolve(match[1] as string);
      });
      injector?.once('exit', (code) => reject(new Error(`injector exited (${code}): ${out}`)));
    });
    injectorUrl = url;
  });

  after(async () => {
    injector?.kill('SIGKILL');
    await cluster?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('accepts every object strait install prints', async () => {
    for (const resource of resources) {
      if (resource.kind === 'MutatingWebhookConfiguration') continue;
      const response = await create(resource);
      assert.equal(
        response.status,
        201,
        `${resource.kind} ${resource.metadata.name}: ${JSON.stringify(response.body)}`,
      );
    }
  });

  it('injects a pod created in an annotated namespace, through the install webhook configuration', async () => {
    const webhook = structuredClone(
      resources.find((r) => r.kind === 'MutatingWebhookConfiguration'),
    ) as unknown as {
      webhooks: { clientConfig: { url?: string; caBundle: string }; failurePolicy: string }[];
    };
    const hook = webhook.webhooks[0] as (typeof webhook.webhooks)[number];
    hook.clientConfig = { url: `${injectorUrl}/inject`, caBundle: hook.clientConfig.caBundle };
    hook.failurePolicy = 'Fail';
    assert.equal((await create(webhook)).status, 201);
    const namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', annotations: { 'strait.io/inject': 'enabled' } },
    };
    assert.equal((await create(namespace)).status, 201);
    assert.equal(
      (await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain' } })).status,
      201,
    );
    const pod = (ns: string, annotations: Record<string, string> = {}) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: ns, annotations },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    });
    // The API server's webhook client may need a moment after the configuration is created.
    let created = await create(pod('shop'));
    for (let i = 0; i < 20 && created.status === 201 && created.body.spec?.containers.length === 1; i++) {
      await client.request({
        method: 'DELETE',
        path: '/api/v1/namespaces/shop/pods/web',
        query: { gracePeriodSeconds: 0 },
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      created = await create(pod('shop'));
    }
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const spec = created.body.spec as NonNullable<V1Pod['spec']>;
    assert.deepEqual(
      spec.containers.map((c: { name: string }) => c.name),
      ['strait-proxy', 'web'],
    );
    assert.deepEqual(
      (spec.initContainers ?? []).map((c: { name: string }) => c.name),
      ['strait-init'],
    );
    const token = spec.volumes?.find((v) => v.name === 'strait-identity-token');
    assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'identity.strait.io');
    assert.equal(created.body.metadata?.labels?.['strait.io/control-plane-ns'], 'strait');

    const plain = await create(pod('plain'));
    assert.equal(plain.status, 201);
    assert.deepEqual(
      plain.body.spec?.containers.map((c: { name: string }) => c.name),
      ['web'],
    );
  });

  it('refuses a pod whose annotation is malformed, with the reason', async () => {
    const bad = await create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'bad',
        namespace: 'shop',
        annotations: { 'config.strait.io/skip-inbound-ports': 'ssh' },
      },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    });
    assert.notEqual(bad.status, 201);
    assert.match(JSON.stringify(bad.body), /skip-inbound-ports: \\"ssh\\" is not a port/);
  });
});

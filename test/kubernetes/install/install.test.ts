// strait install, check, upgrade and uninstall against a real kube-apiserver
// (one cluster: there is no node, so Deployments are marked ready through
// their status subresource). Skips without Go outside CI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { runChecks } from '../../../src/cli/commands/check.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { loadBundle, loadCertificate } from '../../../src/pki/index.ts';
import { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { apiPrefix } from '../../../src/platform/kubernetes/paths.ts';
import { goInstalled, kubeBinaries } from '../harness/binaries.ts';
import { startCluster, type TestCluster } from '../harness/cluster.ts';
import { formatKubeconfig } from '../harness/kubeconfig.ts';
import { claimStateDir, reapStaleClusters } from '../harness/stale.ts';

const STRAIT = fileURLToPath(new URL('../../../src/cmd/strait.ts', import.meta.url));
const pki = (name: string) =>
  fileURLToPath(new URL(`../../../testdata/manifests/pki/${name}`, import.meta.url));
const skip = !goInstalled() && process.env.CI !== 'true' ? 'Go is not installed: no kube-apiserver' : false;

function pathOf(resource: Resource, named = false): string {
  const ns = resource.metadata.namespace ? `/namespaces/${resource.metadata.namespace}` : '';
  const name = named ? `/${resource.metadata.name}` : '';
  return `${apiPrefix(resource.apiVersion)}${ns}/${resource.kind.toLowerCase()}s${name}`;
}

describe('strait install, check, upgrade, uninstall on a real API server', {
  skip,
  timeout: 1_800_000,
}, () => {
  let root: string;
  let cluster: TestCluster | undefined;
  let client: KubeClient;
  let kubeconfig: string;

  const strait = (...args: string[]) =>
    spawnSync(process.execPath, [STRAIT, ...args, '--kubeconfig', kubeconfig, '--context', 'west'], {
      encoding: 'utf8',
    });
  const objects = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as Resource);
  /** Creates each object, or replaces it when it exists (what `kubectl apply` does for these). */
  const apply = async (resources: Resource[]) => {
    for (const resource of resources) {
      let response = await client.request({ method: 'POST', path: pathOf(resource), body: resource });
      if (response.status === 409) {
        const current = await client.request({ method: 'GET', path: pathOf(resource, true) });
        const resourceVersion = (current.body as Resource).metadata.resourceVersion;
        const body = { ...resource, metadata: { ...resource.metadata, resourceVersion } };
        response = await client.request({ method: 'PUT', path: pathOf(resource, true), body });
      }
      assert.ok(
        response.status < 300,
        `${resource.kind} ${resource.metadata.name}: ${JSON.stringify(response.body)}`,
      );
    }
  };
  const identityFiles = (anchor: string, issuer: string) => [
    '--identity-trust-anchors-file',
    pki(anchor),
    '--identity-issuer-certificate-file',
    pki(`${issuer}.crt`),
    '--identity-issuer-key-file',
    pki(`${issuer}.key`),
  ];

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
      serviceCidr: '10.99.0.0/16',
    });
    kubeconfig = join(root, 'kubeconfig');
    await writeFile(kubeconfig, formatKubeconfig([cluster.entry]));
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    client = new KubeClient(config);
  });

  after(async () => {
    await cluster?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('check fails before the install, pointing at strait install', () => {
    const result = strait('check');
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /✓ can query the Kubernetes API \(v1\.\d+/);
    assert.match(
      result.stdout,
      /× control plane Namespace exists\n {4}namespace strait not found\n {4}see: run `strait install/,
    );
  });

  it('install applies; check then fails only on the control plane not being ready', async () => {
    const install = strait('install', ...identityFiles('anchor.crt', 'issuer'));
    assert.equal(install.status, 0, install.stderr);
    await apply(objects(install.stdout));
    const result = strait('check');
    assert.equal(result.status, 1);
    assert.match(result.stdout, /✓ control plane CustomResourceDefinitions exist/);
    assert.match(result.stdout, /✓ proxy injector webhook is configured/);
    assert.match(
      result.stdout,
      /✓ issuer is a valid CA, its key matches, and it chains to the trust anchors/,
    );
    assert.match(result.stdout, /× strait-identity is running\n {4}0\/1 replicas ready/);
  });

  it('check passes once every Deployment is ready', async () => {
    for (const name of ['strait-identity', 'strait-destination', 'strait-policy', 'strait-proxy-injector']) {
      const response = await client.request({
        method: 'PATCH',
        path: `/apis/apps/v1/namespaces/strait/deployments/${name}/status`,
        contentType: 'application/merge-patch+json',
        body: { status: { replicas: 1, readyReplicas: 1 } },
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
    }
    const result = strait('check', '-o', 'json');
    assert.equal(result.status, 0, result.stdout);
    assert.equal(JSON.parse(result.stdout).success, true);
  });

  it('check warns (‼) without failing when the issuer expires within 60 days', async () => {
    const issuer = loadCertificate(readFileSync(pki('issuer.crt'), 'utf8'), 'issuer.crt');
    const soon = new Date(issuer.notAfter.getTime() - 10 * 86_400_000);
    const categories = await runChecks({ kubeconfig, context: 'west', namespace: 'strait' }, soon);
    const identity = categories.find((c) => c.name === 'strait-identity')?.results ?? [];
    const warning = identity.find((r) => r.description === 'issuer certificate is not expiring soon');
    assert.equal(warning?.warning, true);
    assert.match(warning?.error ?? '', /in 9 days|in 10 days/);
    assert.ok(identity.every((r) => r.ok || r.warning));
  });

  it("check fails when the webhook's caBundle does not sign the injector's certificate", async () => {
    const path =
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/strait-proxy-injector-webhook-config';
    const current = (await client.request({ method: 'GET', path })).body as {
      webhooks: { clientConfig: { caBundle: string } }[];
    };
    const original = current.webhooks[0]?.clientConfig.caBundle as string;
    const other = Buffer.from(readFileSync(pki('anchor.crt'), 'utf8')).toString('base64');
    const patch = (caBundle: string) =>
      client.request({
        method: 'PATCH',
        path,
        contentType: 'application/json-patch+json',
        body: [{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }],
      });
    assert.equal((await patch(other)).status, 200);
    const result = strait('check');
    assert.equal(result.status, 1);
    assert.match(
      result.stdout,
      /× proxy injector's certificate matches the webhook's caBundle and is valid\n {4}the certificate is not signed/,
    );
    assert.equal((await patch(original)).status, 200);
    assert.equal(strait('check').status, 0);
  });

  it('upgrade refuses a new issuer whose anchor is not in the bundle', () => {
    const result = strait(
      'upgrade',
      '--identity-issuer-certificate-file',
      pki('issuer-2.crt'),
      '--identity-issuer-key-file',
      pki('issuer-2.key'),
    );
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /issuer-2\.crt: the issuer does not chain to the trust anchors in the installed bundle/,
    );
  });

  it('upgrade appends the new anchor to the bundle and installs the new issuer; check still passes', async () => {
    const result = strait('upgrade', ...identityFiles('anchor-2.crt', 'issuer-2'));
    assert.equal(result.status, 0, result.stderr);
    const upgraded = objects(result.stdout);
    const roots = upgraded.find((o) => o.kind === 'ConfigMap') as Resource & { data: Record<string, string> };
    const bundle = loadBundle(roots.data['ca-bundle.crt'] as string, 'bundle');
    assert.deepEqual(
      bundle.map((c) => c.subject),
      ['CN=root.strait.cluster.local', 'CN=root-2.strait.cluster.local'],
    );
    await apply(upgraded.filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret'));
    const secret = await client.request({
      method: 'GET',
      path: '/api/v1/namespaces/strait/secrets/strait-identity-issuer',
    });
    const issuerPem = Buffer.from(
      (secret.body as { data: Record<string, string> }).data['tls.crt'] as string,
      'base64',
    );
    assert.match(issuerPem.toString(), /BEGIN CERTIFICATE/);
    assert.equal(issuerPem.toString(), readFileSync(pki('issuer-2.crt'), 'utf8'));
    const check = strait('check');
    assert.equal(check.status, 0, check.stdout);
  });

  it('uninstall lists every object for deletion; check fails again afterwards', async () => {
    const result = strait('uninstall');
    assert.equal(result.status, 0, result.stderr);
    const listed = objects(result.stdout);
    assert.equal(listed[0]?.kind, 'MutatingWebhookConfiguration');
    for (const resource of listed) {
      const response = await client.request({ method: 'DELETE', path: pathOf(resource, true) });
      assert.ok(
        [200, 202].includes(response.status),
        `${resource.kind} ${resource.metadata.name}: ${response.status}`,
      );
    }
    const check = strait('check');
    assert.equal(check.status, 1);
    assert.match(check.stdout, /× control plane CustomResourceDefinitions exist/);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { runChecks } from '../../../src/cli/commands/check.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { loadBundle, loadCertificate } from '../../../src/pki/index.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { applyAsKubectl, eventually, resourcePath } from './fixtures.ts';

const STRAIT = fileURLToPath(new URL('../../../src/cmd/strait.ts', import.meta.url));
const pki = (name: string) =>
  fileURLToPath(new URL(`../../../testdata/manifests/pki/${name}`, import.meta.url));

const identityFiles = (anchor: string, issuer: string) => [
  '--identity-trust-anchors-file',
  pki(anchor),
  '--identity-issuer-certificate-file',
  pki(`${issuer}.crt`),
  '--identity-issuer-key-file',
  pki(`${issuer}.key`),
];

/**
 * `strait install`, `check`, `upgrade` and `uninstall` against east, applied
 * the way `kubectl apply` would. No controller runs Deployments there, so they
 * are marked ready through their status subresource. Runs after the suites
 * that need east's CRDs: the uninstall removes them.
 */
export async function installTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const client = clusters.client('east');
  const strait = (...args: string[]) =>
    spawnSync(process.execPath, [STRAIT, ...args, '--kubeconfig', clusters.kubeconfig, '--context', 'east'], {
      encoding: 'utf8',
    });
  const objects = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as Resource);
  const apply = (resources: Resource[]) => applyAsKubectl(client, resources);

  await t.test('check fails before the install, pointing at strait install', () => {
    const result = strait('check');
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /✓ can query the Kubernetes API \(v1\.\d+/);
    assert.match(
      result.stdout,
      /× control plane Namespace exists\n {4}namespace strait not found\n {4}see: run `strait install/,
    );
  });

  await t.test('install applies; check then fails only on the control plane not being ready', async () => {
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

  await t.test('check passes once every Deployment is ready', async () => {
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

  await t.test('check warns (‼) without failing when the issuer expires within 60 days', async () => {
    const issuer = loadCertificate(readFileSync(pki('issuer.crt'), 'utf8'), 'issuer.crt');
    const soon = new Date(issuer.notAfter.getTime() - 10 * 86_400_000);
    const categories = await runChecks(
      { kubeconfig: clusters.kubeconfig, context: 'east', namespace: 'strait' },
      soon,
    );
    const identity = categories.find((c) => c.name === 'strait-identity')?.results ?? [];
    const warning = identity.find((r) => r.description === 'issuer certificate is not expiring soon');
    assert.equal(warning?.warning, true);
    assert.match(warning?.error ?? '', /in 9 days|in 10 days/);
    assert.ok(identity.every((r) => r.ok || r.warning));
  });

  await t.test(
    "check fails when the webhook's caBundle does not sign the injector's certificate",
    async () => {
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
    },
  );

  await t.test('upgrade refuses a new issuer whose anchor is not in the bundle', () => {
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

  await t.test(
    'upgrade appends the new anchor to the bundle and installs the new issuer; check still passes',
    async () => {
      const result = strait('upgrade', ...identityFiles('anchor-2.crt', 'issuer-2'));
      assert.equal(result.status, 0, result.stderr);
      const upgraded = objects(result.stdout);
      const roots = upgraded.find((o) => o.kind === 'ConfigMap') as Resource & {
        data: Record<string, string>;
      };
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
      assert.equal(issuerPem.toString(), readFileSync(pki('issuer-2.crt'), 'utf8'));
      const check = strait('check');
      assert.equal(check.status, 0, check.stdout);
    },
  );

  await t.test('uninstall lists every object for deletion; check fails again afterwards', async () => {
    const result = strait('uninstall');
    assert.equal(result.status, 0, result.stderr);
    const listed = objects(result.stdout);
    assert.equal(listed[0]?.kind, 'MutatingWebhookConfiguration');
    for (const resource of listed) {
      const response = await client.request({ method: 'DELETE', path: resourcePath(resource, true) });
      assert.ok(
        [200, 202].includes(response.status),
        `${resource.kind} ${resource.metadata.name}: ${response.status}`,
      );
    }
    // CRDs and the namespace go once their contents are cleaned up.
    await eventually('check to report the CRDs missing', async () => {
      const check = strait('check');
      return check.status === 1 && /× control plane CustomResourceDefinitions exist/.test(check.stdout);
    });
  });
}

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { Service } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { formatKubeconfig } from '../../../src/platform/local/api/kubeconfig.ts';
import { apiCredential } from '../../../src/platform/local/cluster-store.ts';
import { type LocalCluster, upCluster } from '../../../src/platform/local/local-cluster.ts';
import { joinManifests, namespaceManifest, serviceManifest } from '../../fixtures/manifests.ts';
import { runProcess } from '../../fixtures/process.ts';
import { strait } from '../../fixtures/strait-cli.ts';
import { canBuildKubectl, kubectlBinary } from './kubectl-binary.ts';

/** The namespace `shop` and its Service `web` with one port. */
const shop = (port: number) =>
  joinManifests(
    namespaceManifest('shop'),
    serviceManifest({ name: 'web', namespace: 'shop', ports: [{ name: 'http', port }] }),
  );

const LINK = `apiVersion: v1
kind: Namespace
metadata:
  name: strait-multicluster
---
apiVersion: multicluster.strait.io/v1alpha1
kind: Link
metadata:
  name: east
  namespace: strait-multicluster
spec:
  targetClusterName: east
  clusterCredentialsSecret: cluster-credentials-east
  gatewayAddress: 127.0.1.1
  gatewayIdentity: strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local
`;

const skip = canBuildKubectl()
  ? false
  : 'Go is not installed, so kubectl cannot be built (scripts/kube/build-kubectl.sh)';

describe('kubectl against a local cluster (real kubectl, real control plane)', {
  skip,
  timeout: 1_800_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'strait-kubectl-'));
  let kubectl: string;
  let cluster: LocalCluster;

  const run = (args: string[], input?: string) =>
    runProcess(
      kubectl,
      ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args],
      {
        input,
      },
    );
  const ok = async (args: string[], input?: string) => {
    const result = await run(args, input);
    assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    kubectl = await kubectlBinary();
    cluster = await upCluster({ home: join(dir, 'home'), name: 'kc' });
    // The kubeconfig comes from `strait local kubeconfig`, as a user gets it.
    const printed = await strait(join(dir, 'home'), ['local', 'kubeconfig', '--context', 'kc']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, formatKubeconfig(apiCredential(cluster.dir)));
    writeFileSync(join(dir, 'kubeconfig'), printed.stdout, { mode: 0o600 });
  });

  after(async () => {
    await cluster?.down({ deleteState: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the server version, every kind with its short names, and the kinds’ schemas', async () => {
    const version = JSON.parse(await ok(['version', '-o', 'json'])) as {
      serverVersion: { major: string; minor: string };
    };
    assert.deepEqual([version.serverVersion.major, version.serverVersion.minor], ['1', '33']);
    const resources = await ok(['api-resources', '--no-headers']);
    const rows = resources
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/));
    const row = (name: string) => rows.find((r) => r[0] === name);
    assert.deepEqual(row('services'), ['services', 'svc', 'v1', 'true', 'Service']);
    assert.deepEqual(row('links'), ['links', 'multicluster.strait.io/v1alpha1', 'true', 'Link']);
    assert.deepEqual(row('namespaces'), ['namespaces', 'ns', 'v1', 'false', 'Namespace']);
    assert.deepEqual(row('servers'), ['servers', 'srv', 'policy.strait.io/v1beta1', 'true', 'Server']);
    const explained = await ok(['explain', 'links.spec']);
    assert.match(explained, /KIND:\s+Link/);
    assert.match(explained, /targetClusterName\s+<string> -required-/);
  });

  it('applies (client-side), changes a port on a second apply, and gets services in every namespace', async () => {
    assert.match(await ok(['apply', '-f', '-'], shop(80)), /service\/web created/);
    assert.match(await ok(['apply', '-f', '-'], shop(80)), /service\/web unchanged/);
    assert.match(await ok(['apply', '-f', '-'], shop(8080)), /service\/web configured/);
    const store = cluster.openStore();
    try {
      const web = await store.get<Service>({ ...Kinds.Service, namespace: 'shop', name: 'web' });
      assert.deepEqual(web?.spec?.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    } finally {
      store.close();
    }
    const all = await ok(['get', 'services', '-A']);
    assert.match(all, /^NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP\s+PORTS\s+AGE$/m);
    assert.match(all, /^shop\s+web\s+ClusterIP\s+\S+\s+8080\/TCP\s/m);
    const selected = await ok(['get', 'services', '-A', '--field-selector', 'metadata.namespace=other']);
    assert.doesNotMatch(selected, /web/);
    const yaml = parseYaml(await ok(['get', 'service', 'web', '-n', 'shop', '-o', 'yaml'])) as Service;
    assert.equal(yaml.kind, 'Service');
    assert.deepEqual(yaml.spec?.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });

  it('applies a Link server-side and lists it', async () => {
    assert.match(
      await ok(['apply', '--server-side', '-f', '-'], LINK),
      /link.multicluster.strait.io\/east serverside-applied/,
    );
    assert.match(await ok(['get', 'links', '-n', 'strait-multicluster']), /^east\s+east\s+127\.0\.1\.1\s/m);
    const link = JSON.parse(
      await ok(['get', 'link', 'east', '-n', 'strait-multicluster', '-o', 'json', '--show-managed-fields']),
    ) as {
      metadata: { managedFields: { manager: string }[] };
    };
    assert.deepEqual(
      link.metadata.managedFields.map((f) => f.manager),
      ['kubectl'],
    );
  });

  it('shows the store’s refusal of an invalid object and keeps what is stored', async () => {
    const result = await run(['apply', '-f', '-'], shop(70000));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /spec\.ports\[0\]\.port/);
    assert.match(
      await ok(['get', 'service', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.ports[0].port}']),
      /^8080$/,
    );
  });
});

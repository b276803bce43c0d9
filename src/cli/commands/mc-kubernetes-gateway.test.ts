import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { installManifests, remoteAccessManifests } from '../../multicluster/link/manifests.ts';
import { formatManifest } from '../../platform/kubernetes/manifests/format.ts';
import { assertGolden, testdataPath } from '../../platform/kubernetes/manifests/golden.ts';
import { defaultMeshSettings } from '../../platform/kubernetes/manifests/settings.ts';
import { gatewayDeployment } from './mc-kubernetes-gateway.ts';

// The image is pinned so that the golden file does not change with the package version.
const settings = { ...defaultMeshSettings(), image: 'ghcr.io/strait-mesh/strait:test' };
const ANCHORS_FILE = testdataPath('pki/anchor.crt');
const ANCHORS = readFileSync(ANCHORS_FILE, 'utf8');
const STRAIT = fileURLToPath(new URL('../../cmd/strait.ts', import.meta.url));

interface GatewayContainer {
  env: { name: string; value?: string }[];
  volumeMounts: { name: string }[];
}
interface GatewayPod {
  serviceAccountName: string;
  containers: (GatewayContainer & Record<string, unknown>)[];
  volumes: Record<string, unknown>[];
}

function podOf(deployment: unknown): GatewayPod {
  return (deployment as { spec: { template: { spec: GatewayPod } } }).spec.template.spec;
}

/** `strait mc install -o yaml` on a Kubernetes context whose API server refuses connections. */
function installOffline(...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'strait-mc-gateway-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: east',
      'clusters: [{name: east, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
      'users: [{name: east, user: {token: unused}}]',
      'contexts: [{name: east, context: {cluster: east, user: east}}]',
      '',
    ].join('\n'),
  );
  return spawnSync(
    process.execPath,
    [STRAIT, 'mc', 'install', '--kubeconfig', kubeconfig, '--context', 'east', '-o', 'yaml', ...args],
    { encoding: 'utf8', env: { ...process.env, STRAIT_HOME: dir } },
  );
}

function printedGateway(stdout: string): GatewayContainer {
  const deployment = parseAllDocuments(stdout)
    .map((d) => d.toJS())
    .find((o) => o.kind === 'Deployment');
  const [container] = podOf(deployment).containers;
  assert.ok(container);
  return container;
}

function kubernetesInstall(serviceType: 'LoadBalancer' | 'NodePort' | 'ClusterIP') {
  return installManifests({
    controlPlaneNamespace: settings.controlPlaneNamespace,
    trustDomain: settings.trustDomain,
    serviceType,
    gatewayWorkload: [gatewayDeployment(settings, { gateway: 4143, probe: 4191 }, ANCHORS)],
  });
}

describe('mc install manifests on Kubernetes', () => {
  it('match the golden file: namespace, gateway ServiceAccount, Deployment and Service, remote-access RBAC', () => {
    assertGolden('multicluster-install.yaml', formatManifest(kubernetesInstall('LoadBalancer'), 'yaml'));
  });

  it('grant linked clusters reads of services and endpoints only, and each credential its own token', () => {
    const objects = kubernetesInstall('ClusterIP');
    const rules = objects.flatMap((o) => (o as { rules?: unknown[] }).rules ?? []);
    assert.deepEqual(rules, [
      { apiGroups: [''], resources: ['services', 'endpoints'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: [''],
        resources: ['serviceaccounts/token'],
        verbs: ['create'],
        resourceNames: ['strait-mirror-remote-access-default'],
      },
    ]);
    const service = objects.find((o) => o.kind === 'Service') as { spec?: { type?: string } };
    assert.equal(service.spec?.type, 'ClusterIP');
    assert.deepEqual(
      remoteAccessManifests('north').map((o) => `${o.kind}/${o.metadata.name}`),
      [
        'ServiceAccount/strait-mirror-remote-access-north',
        'ClusterRoleBinding/strait-mirror-remote-access-north',
        'Role/strait-mirror-remote-access-north-token',
        'RoleBinding/strait-mirror-remote-access-north-token',
      ],
    );
  });

  it('run the gateway as its own ServiceAccount, non-root, on a read-only root filesystem', () => {
    const pod = podOf(gatewayDeployment(settings, { gateway: 4143, probe: 4191 }, ANCHORS));
    assert.equal(pod.serviceAccountName, 'strait-gateway');
    const [container] = pod.containers;
    assert.deepEqual(container?.command, [
      'node',
      '--max-semi-space-size=2',
      '--single-threaded-gc',
      '/app/dist/cmd/gateway.js',
    ]);
    assert.deepEqual(container?.securityContext, {
      runAsNonRoot: true,
      runAsUser: 2102,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('give the gateway the trust anchors inline: the trust roots ConfigMap is in another namespace', () => {
    const pod = podOf(gatewayDeployment(settings, { gateway: 4143, probe: 4191 }, ANCHORS));
    const [container] = pod.containers;
    assert.equal(container?.env.find((e) => e.name === 'STRAIT_PROXY_TRUST_BUNDLE')?.value, ANCHORS);
    assert.equal(
      container?.env.find((e) => e.name === 'STRAIT_PROXY_TRUST_BUNDLE_FILE'),
      undefined,
    );
    assert.deepEqual(
      container?.volumeMounts.map((m) => m.name),
      ['identity-token'],
    );
    assert.equal(JSON.stringify(pod.volumes).includes('configMap'), false);
  });

  it('mc install --identity-trust-anchors-file puts the file in the Deployment', () => {
    const result = installOffline('--identity-trust-anchors-file', ANCHORS_FILE);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    const gateway = printedGateway(result.stdout);
    assert.equal(gateway.env.find((e) => e.name === 'STRAIT_PROXY_TRUST_BUNDLE')?.value, ANCHORS);
  });

  it('mc install refuses a trust anchors file that is missing or holds no certificate', () => {
    const missing = installOffline('--identity-trust-anchors-file', '/nonexistent/anchors.crt');
    assert.equal(missing.status, 1);
    assert.match(
      missing.stderr,
      /--identity-trust-anchors-file \/nonexistent\/anchors.crt: cannot read the file/,
    );
    const notPem = installOffline('--identity-trust-anchors-file', testdataPath('pki/README.md'));
    assert.equal(notPem.status, 1);
    assert.match(notPem.stderr, /README.md: no PEM certificate in the file/);
    assert.equal(missing.stdout, '');
  });

  it('mc install warns when the control plane’s trust anchors cannot be read, and still prints the gateway', () => {
    const result = installOffline();
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /warning: cannot read ConfigMap strait\/strait-identity-trust-roots/);
    assert.match(result.stderr, /--identity-trust-anchors-file/);
    const gateway = printedGateway(result.stdout);
    assert.equal(
      gateway.env.find((e) => e.name === 'STRAIT_PROXY_TRUST_BUNDLE'),
      undefined,
    );
  });
});

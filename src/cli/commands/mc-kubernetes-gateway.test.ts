import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { installManifests, remoteAccessManifests } from '../../multicluster/link/manifests.ts';
import { formatManifest } from '../../platform/kubernetes/manifests/format.ts';
import { assertGolden } from '../../platform/kubernetes/manifests/golden.ts';
import { defaultMeshSettings } from '../../platform/kubernetes/manifests/settings.ts';
import { gatewayDeployment } from './mc-kubernetes-gateway.ts';

// The image is pinned so that the golden file does not change with the package version.
const settings = { ...defaultMeshSettings(), image: 'ghcr.io/strait-mesh/strait:test' };

function kubernetesInstall(serviceType: 'LoadBalancer' | 'NodePort' | 'ClusterIP') {
  return installManifests({
    controlPlaneNamespace: settings.controlPlaneNamespace,
    trustDomain: settings.trustDomain,
    serviceType,
    gatewayWorkload: [gatewayDeployment(settings, { gateway: 4143, probe: 4191 })],
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
    const deployment = gatewayDeployment(settings, { gateway: 4143, probe: 4191 }) as unknown as {
      spec: { template: { spec: { serviceAccountName: string; containers: Record<string, unknown>[] } } };
    };
    const pod = deployment.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'strait-gateway');
    const [container] = pod.containers;
    assert.deepEqual(container?.command, ['node', '/app/src/cmd/gateway.ts']);
    assert.deepEqual(container?.securityContext, {
      runAsNonRoot: true,
      runAsUser: 2102,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });
});

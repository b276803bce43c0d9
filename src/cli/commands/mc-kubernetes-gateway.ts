import { StraitError } from '../../core/errors.ts';
import type { Resource } from '../../core/resource.ts';
import { Multicluster } from '../../multicluster/link/manifests.ts';
import {
  componentAddress,
  componentIdentity,
  entryCommand,
  type MeshSettings,
} from '../../platform/kubernetes/manifests/settings.ts';
import { KUBERNETES_IDENTITY_AUDIENCE } from '../../platform/kubernetes/token-review-validator.ts';
import { readInput } from './identity-files.ts';

const TOKEN_DIR = '/var/run/strait/identity/token';

/**
 * The gateway's Deployment on Kubernetes: the Strait image running the
 * gateway entry point as the `strait-gateway` ServiceAccount, data on 4143 and
 * probe on 4191, its certificate from the identity service in exchange for a
 * projected ServiceAccount token, verified against the trust anchors given
 * inline (`STRAIT_PROXY_TRUST_BUNDLE`), as the injector gives them to proxies:
 * the trust roots ConfigMap lives in the control-plane namespace, which a pod
 * in the multicluster namespace cannot mount. Without `trustAnchorsPem` the
 * gateway has no way to check the identity service and stays unready.
 */
export function gatewayDeployment(
  settings: MeshSettings,
  ports: { gateway: number; probe: number },
  trustAnchorsPem: string | undefined,
): Resource {
  const ns = Multicluster.namespace;
  const labels = { app: Multicluster.gateway, [Multicluster.partOfLabel]: 'strait-multicluster' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: Multicluster.gateway, namespace: ns, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: Multicluster.gateway } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: Multicluster.gateway,
          containers: [
            {
              name: 'gateway',
              image: settings.image,
              imagePullPolicy: settings.imagePullPolicy,
              command: entryCommand('gateway'),
              env: [
                { name: '_pod_ns', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: '_pod_name', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'STRAIT_PROXY_INBOUND_ADDR', value: `0.0.0.0:${ports.gateway}` },
                { name: 'STRAIT_PROXY_ADMIN_ADDR', value: `0.0.0.0:${ports.probe}` },
                { name: 'STRAIT_PROXY_IDENTITY_ADDR', value: componentAddress(settings, 'identity') },
                { name: 'STRAIT_PROXY_IDENTITY_SERVER_NAME', value: componentIdentity(settings, 'identity') },
                {
                  name: 'STRAIT_PROXY_IDENTITY',
                  value: `${Multicluster.gateway}.${ns}.serviceaccount.identity.${settings.controlPlaneNamespace}.${settings.trustDomain}`,
                },
                { name: 'STRAIT_PROXY_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
                ...(trustAnchorsPem ? [{ name: 'STRAIT_PROXY_TRUST_BUNDLE', value: trustAnchorsPem }] : []),
                { name: 'STRAIT_PROXY_DESTINATION_ADDR', value: componentAddress(settings, 'destination') },
                {
                  name: 'STRAIT_PROXY_DESTINATION_IDENTITY',
                  value: componentIdentity(settings, 'destination'),
                },
                { name: 'STRAIT_PROXY_WORKLOAD', value: '$(_pod_ns)/$(_pod_name)' },
                { name: 'STRAIT_GATEWAY_CLUSTER_DOMAIN', value: settings.clusterDomain },
              ],
              ports: [
                { name: 'mc-gateway', containerPort: ports.gateway, protocol: 'TCP' },
                { name: 'mc-probe', containerPort: ports.probe, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: ports.probe } },
              livenessProbe: { httpGet: { path: '/live', port: ports.probe } },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: settings.proxyUid,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'identity-token', mountPath: TOKEN_DIR, readOnly: true }],
            },
          ],
          volumes: [
            {
              name: 'identity-token',
              projected: {
                sources: [
                  {
                    serviceAccountToken: {
                      audience: KUBERNETES_IDENTITY_AUDIENCE,
                      expirationSeconds: 86_400,
                      path: 'token',
                    },
                  },
                ],
              },
            },
          ],
        },
      },
    },
  } as Resource;
}

/**
 * Reads the trust anchors (PEM) named by `--identity-trust-anchors-file`;
 * throws E_FILE_READ, or E_TRUST_ANCHORS_FILE when the file holds no certificate.
 */
export function readTrustAnchorsFile(file: string): string {
  const pem = readInput(file, '--identity-trust-anchors-file');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new StraitError(
      'E_TRUST_ANCHORS_FILE',
      `--identity-trust-anchors-file ${file}: no PEM certificate in the file`,
      { hint: 'pass the control plane’s trust anchors, "-----BEGIN CERTIFICATE-----…"' },
    );
  }
  return pem;
}

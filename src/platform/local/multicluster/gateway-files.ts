import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayIdentity } from '../../../multicluster/link/manifests.ts';
import { issueWorkloadCertificate } from '../../../pki/index.ts';
import { type ClusterConfig, clusterFiles } from '../cluster-config.ts';
import { ControlPlaneAccounts, controlPlaneIdentity } from '../control-plane-identities.ts';
import { writeFileAtomic } from '../home.ts';
import type { GatewaySpec } from './gateway-spec.ts';

/**
 * Writes what a local cluster's gateway process needs under
 * `<cluster>/multicluster/`: a fresh certificate for the gateway identity from
 * the cluster's issuer, its key, and the proxy configuration (data and probe
 * on the spec's address, this cluster's destination service). Returns the
 * configuration file, to be named by STRAIT_PROXY_CONFIG, and when the
 * certificate expires.
 */
export function writeGatewayFiles(
  dir: string,
  config: ClusterConfig,
  spec: Pick<GatewaySpec, 'address' | 'port' | 'probePort'>,
): { configFile: string; notAfter: Date } {
  const files = clusterFiles(dir);
  const out = files.multicluster;
  mkdirSync(out, { recursive: true });
  const leaf = issueWorkloadCertificate({
    issuer: {
      certPem: readFileSync(files.issuerCert, 'utf8'),
      keyPem: readFileSync(files.issuerKey, 'utf8'),
    },
    identity: gatewayIdentity(config.controlPlaneNamespace, config.trustDomain),
  });
  writeFileAtomic(join(out, 'gateway.crt'), leaf.chainPem);
  writeFileAtomic(join(out, 'gateway.key'), leaf.keyPem, 0o600);
  const configFile = join(out, 'gateway.json');
  writeFileAtomic(
    configFile,
    `${JSON.stringify(
      {
        identity: {
          certFile: join(out, 'gateway.crt'),
          keyFile: join(out, 'gateway.key'),
          trustBundleFile: files.trustAnchor,
        },
        inbound: { host: spec.address, port: spec.port },
        admin: { host: spec.address, port: spec.probePort },
        destination: {
          address: `${config.controlPlaneAddress}:${config.ports.destination}`,
          identity: controlPlaneIdentity(config, ControlPlaneAccounts.destination),
        },
      },
      null,
      2,
    )}\n`,
  );
  return { configFile, notAfter: leaf.notAfter };
}

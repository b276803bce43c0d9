import { identityName } from '../../core/identity-name.ts';
import { issueWorkloadCertificate } from '../../pki/index.ts';
import type { TlsMaterial } from '../../rpc/server.ts';
import type { ClusterConfig } from './cluster-config.ts';

/** Service accounts of the control-plane services; their identities are the services' TLS names. */
export const ControlPlaneAccounts = {
  identity: 'strait-identity',
  destination: 'strait-destination',
  policy: 'strait-policy',
} as const;

/** `<sa>.<cp-ns>.serviceaccount.identity.<cp-ns>.<trust-domain>` of a control-plane service. */
export function controlPlaneIdentity(config: ClusterConfig, serviceAccount: string): string {
  return identityName({
    serviceAccount,
    namespace: config.controlPlaneNamespace,
    controlPlaneNamespace: config.controlPlaneNamespace,
    trustDomain: config.trustDomain,
  });
}

/** Serving TLS for a control-plane service, issued by the cluster's issuer (24 h). */
export function servingTls(
  config: ClusterConfig,
  serviceAccount: string,
  issuer: { certPem: string; keyPem: string; certSource: string; keySource: string },
  trustBundle: string,
): TlsMaterial {
  const issued = issueWorkloadCertificate({ issuer, identity: controlPlaneIdentity(config, serviceAccount) });
  return { cert: issued.chainPem, key: issued.keyPem, ca: trustBundle };
}

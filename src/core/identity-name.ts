import { StraitError } from './errors.ts';

export const DEFAULT_CONTROL_PLANE_NAMESPACE = 'strait';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export interface IdentityParts {
  serviceAccount: string;
  namespace: string;
  controlPlaneNamespace: string;
  trustDomain: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The identity of a workload:
 * `<sa>.<ns>.serviceaccount.identity.<control-plane-ns>.<trust-domain>`,
 * carried as the only DNS SAN of its certificate.
 */
export function identityName(parts: {
  serviceAccount: string;
  namespace: string;
  controlPlaneNamespace?: string;
  trustDomain?: string;
}): string {
  const full: IdentityParts = {
    serviceAccount: parts.serviceAccount,
    namespace: parts.namespace,
    controlPlaneNamespace: parts.controlPlaneNamespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE,
    trustDomain: parts.trustDomain ?? DEFAULT_TRUST_DOMAIN,
  };
  for (const [field, value] of [
    ['service account', full.serviceAccount],
    ['namespace', full.namespace],
    ['control-plane namespace', full.controlPlaneNamespace],
  ] as const) {
    if (!DNS_LABEL.test(value) || value.length > 63) {
      throw new StraitError('E_IDENTITY_NAME', `${field} "${value}" is not a DNS label`, {
        hint: 'use lower-case letters, digits and "-", at most 63 characters',
      });
    }
  }
  if (!DNS_NAME.test(full.trustDomain)) {
    throw new StraitError('E_IDENTITY_NAME', `trust domain "${full.trustDomain}" is not a DNS name`);
  }
  return `${full.serviceAccount}.${full.namespace}.serviceaccount.identity.${full.controlPlaneNamespace}.${full.trustDomain}`;
}

/** Splits an identity name into its parts; throws E_IDENTITY_NAME when it is not one. */
export function parseIdentityName(name: string): IdentityParts {
  const labels = name.split('.');
  if (
    labels.length < 6 ||
    labels[2] !== 'serviceaccount' ||
    labels[3] !== 'identity' ||
    !DNS_NAME.test(name) ||
    name.length > 253
  ) {
    throw new StraitError(
      'E_IDENTITY_NAME',
      `"${name}" is not a workload identity (want <sa>.<ns>.serviceaccount.identity.<control-plane-ns>.<trust-domain>)`,
    );
  }
  return {
    serviceAccount: labels[0] as string,
    namespace: labels[1] as string,
    controlPlaneNamespace: labels[4] as string,
    trustDomain: labels.slice(5).join('.'),
  };
}

export function isIdentityName(name: string): boolean {
  try {
    parseIdentityName(name);
    return true;
  } catch {
    return false;
  }
}

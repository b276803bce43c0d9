/**
 * Matches identities against a list of patterns: an exact identity, or a
 * prefix ending in `*` (e.g. "strait-gateway.strait-multicluster.serviceaccount.identity.*").
 */
export function identityMatcher(patterns: readonly string[]): (identity: string | undefined) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (identity) =>
    identity !== undefined && (exact.has(identity) || prefixes.some((p) => identity.startsWith(p)));
}

/** Default trusted forwarders: the multicluster gateways' service account, in any trust domain. */
export const DEFAULT_TRUSTED_FORWARDERS = ['strait-gateway.strait-multicluster.serviceaccount.identity.*'];

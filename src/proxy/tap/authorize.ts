/**
 * Who may watch a proxy's tap on a non-loopback address. Linkerd authorizes
 * its tap per client identity (the viz tap service's); here, by default, any
 * identity of the control-plane namespace `strait`, which includes the one an
 * operator issues for `strait tap`
 * (`tap.strait.serviceaccount.identity.<trust domain>`).
 */
export const DEFAULT_TAP_CLIENTS: readonly string[] = ['*.strait.serviceaccount.identity.*'];

/**
 * Matches identities against patterns: each `*` stands for one DNS label,
 * except a final `*`, which stands for the rest of the name (the trust domain).
 */
export function tapClientMatcher(patterns: readonly string[]): (identity: string | undefined) => boolean {
  const expressions = patterns.map((pattern) => {
    const labels = pattern.split('.');
    const body = labels.map((label, index) => {
      if (label !== '*') return label.replace(/[\\^$+?()[\]{}|-]/g, '\\$&');
      return index === labels.length - 1 ? '.+' : '[^.]+';
    });
    return new RegExp(`^${body.join('\\.')}$`);
  });
  return (identity) => identity !== undefined && expressions.some((e) => e.test(identity));
}

/** Whether a listen host is loopback, where tap stays plaintext. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

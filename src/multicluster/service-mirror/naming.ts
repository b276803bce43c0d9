import { createHash } from 'node:crypto';

/** Longest name a Service may have (a DNS label). */
export const MAX_NAME_LENGTH = 63;
const HASH_LENGTH = 8;

/**
 * The local name of a remote object's mirror: `<name>-<cluster>`. Names that
 * would exceed 63 characters keep the cluster suffix and a hash of the full
 * name (`<prefix>-<hash>-<cluster>`), so the result is stable and unique; the
 * caller records the original name in an annotation.
 */
export function mirrorName(remoteName: string, clusterName: string): string {
  const full = `${remoteName}-${clusterName}`;
  if (full.length <= MAX_NAME_LENGTH) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_LENGTH);
  const room = MAX_NAME_LENGTH - clusterName.length - HASH_LENGTH - 2;
  const prefix = remoteName.slice(0, Math.max(room, 0)).replace(/-+$/, '');
  if (prefix === '') return `${hash}-${clusterName}`.slice(0, MAX_NAME_LENGTH);
  return `${prefix}-${hash}-${clusterName}`;
}

/** Whether `mirrorName` had to shorten the name. */
export function isShortened(remoteName: string, clusterName: string): boolean {
  return remoteName.length + clusterName.length + 1 > MAX_NAME_LENGTH;
}

/** The fully qualified name a mirror stands for: `<name>.<ns>.svc.<domain>`. */
export function remoteFqName(name: string, namespace: string, clusterDomain: string): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

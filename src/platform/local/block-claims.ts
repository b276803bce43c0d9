import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Loopback blocks are a host-wide resource: clusters of different
 * $STRAIT_HOMEs (parallel test runs, a demo) must not pick the same one.
 * A block is claimed by creating a file named after it (atomic) that holds
 * the cluster's state directory (created before claiming); a claim whose
 * directory is gone is stale.
 */
const CLAIMS = join(tmpdir(), 'strait-address-blocks');

/** Claims block `index` for the cluster in `dir`; false when another cluster holds it. */
export function claimBlock(index: number, dir: string): boolean {
  mkdirSync(CLAIMS, { recursive: true });
  const claim = join(CLAIMS, String(index));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(claim, dir, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(claim);
    if (owner === dir) return true;
    if (owner === undefined || existsSync(owner)) return false;
    rmSync(claim, { force: true });
  }
  return false;
}

/** Gives block `index` back, if the cluster in `dir` holds it. */
export function releaseBlock(index: number, dir: string): void {
  const claim = join(CLAIMS, String(index));
  if (readOwner(claim) === dir) rmSync(claim, { force: true });
}

function readOwner(claim: string): string | undefined {
  try {
    return readFileSync(claim, 'utf8');
  } catch {
    return undefined;
  }
}

import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
    if (createClaim(claim, dir)) return true;
    const owner = readOwner(claim);
    if (owner === dir) return true;
    if (owner === undefined || existsSync(owner)) return false;
    if (!removeStaleClaim(claim, owner)) return false;
  }
  return false;
}

/** Gives block `index` back, if the cluster in `dir` holds it. */
export function releaseBlock(index: number, dir: string): void {
  const claim = join(CLAIMS, String(index));
  if (readOwner(claim) === dir) rmSync(claim, { force: true });
}

/**
 * Creates the claim with its owner already written: the owner goes into a
 * private file first, which is then hard-linked under the claim's name, so
 * no other cluster ever reads a claim still being written (and takes it for
 * stale).
 */
function createClaim(claim: string, dir: string): boolean {
  const draft = `${claim}.draft-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, dir);
  try {
    linkSync(draft, claim);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    rmSync(draft, { force: true });
  }
}

/**
 * Moves a stale claim aside (a rename succeeds for one cluster only). When
 * what was moved is not the stale claim, another cluster claimed the block
 * in between: its claim goes back and this cluster does not get the block.
 */
function removeStaleClaim(claim: string, staleOwner: string): boolean {
  const aside = `${claim}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(claim, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  try {
    if (readOwner(aside) === staleOwner) return true;
    try {
      linkSync(aside, claim);
    } catch {}
    return false;
  } finally {
    rmSync(aside, { force: true });
  }
}

function readOwner(claim: string): string | undefined {
  try {
    return readFileSync(claim, 'utf8');
  } catch {
    return undefined;
  }
}

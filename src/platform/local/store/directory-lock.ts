import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StoreLockedError } from './errors.ts';

const LOCK_FILE = 'lock';
const held = new Set<string>();

/**
 * Claims a state directory for this process. A lock left by a process that
 * no longer runs (it crashed) is taken over.
 */
export function lockDirectory(dir: string): () => void {
  const absolute = resolve(dir);
  const path = join(absolute, LOCK_FILE);
  if (held.has(absolute)) throw new StoreLockedError(absolute, process.pid);
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner)) {
        throw new StoreLockedError(absolute, owner);
      }
      rmSync(path, { force: true });
    }
  }
  held.add(absolute);
  return () => {
    held.delete(absolute);
    rmSync(path, { force: true });
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

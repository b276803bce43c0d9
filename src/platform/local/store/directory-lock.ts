import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StoreLockedError } from './errors.ts';

const LOCK_FILE = 'lock';
const held = new Set<string>();

/**
 * Claims a state directory for this process. A lock left by a process that
 * no longer runs (it crashed) is taken over; the holder's start time is
 * recorded too, so a new process that happens to reuse its pid is not taken
 * for it.
 */
export function lockDirectory(dir: string): () => void {
  const absolute = resolve(dir);
  const path = join(absolute, LOCK_FILE);
  if (held.has(absolute)) throw new StoreLockedError(absolute, process.pid);
  const me = `${process.pid} ${startTimeOf(process.pid) ?? ''}`.trim();
  for (;;) {
    try {
      writeFileSync(path, me, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pid, started] = readFileSync(path, 'utf8').trim().split(' ');
      const owner = Number(pid);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner, started)) {
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

function isRunning(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(pid);
  return started === undefined || now === undefined || now === started;
}

/** When a process started, in clock ticks since boot (Linux), or undefined where that is unknown. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../../src/platform/local/controllers/workload-reaper.ts';

const OWNER_FILE = 'owner.pid';

/** Records which test process owns a state directory, for reapStaleClusters. */
export function claimStateDir(root: string): void {
  writeFileSync(join(root, OWNER_FILE), String(process.pid));
}

/**
 * Cleans up after test processes that died without stopping their clusters
 * (SIGKILL, a crashed runner): kills every process whose command line names a
 * state directory under `parent` whose owner is gone, then removes the directory.
 */
export function reapStaleClusters(parent: string, prefix: string): void {
  for (const entry of readdirSync(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const root = join(parent, entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(root, OWNER_FILE), 'utf8'));
    } catch {
      continue; // Being set up right now, or not ours.
    }
    if (processAlive(owner)) continue;
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${root}/`))
          process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
    rmSync(root, { recursive: true, force: true });
  }
}

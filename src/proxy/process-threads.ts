import { readdirSync, readFileSync } from 'node:fs';

/**
 * Ids of the threads of process `pid` (this one by default) whose name, as
 * /proc/<pid>/task/<tid>/comm gives it, is `name`.
 */
export function threadsNamed(name: string, pid: number | 'self' = 'self'): number[] {
  const tasks = `/proc/${pid}/task`;
  const ids: number[] = [];
  for (const task of readdirSync(tasks)) {
    try {
      if (readFileSync(`${tasks}/${task}/comm`, 'utf8') === `${name}\n`) ids.push(Number(task));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ids;
}

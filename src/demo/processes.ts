import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** A process the demo started, as recorded in its state directory. */
export interface DemoProcess {
  name: string;
  pid: number;
  log: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/**
 * Stops one process and everything in its process group: SIGTERM to the leader first, so a
 * `strait local run` can deregister its workload, then SIGKILL to the group after `graceMs`.
 */
export async function stopProcessGroup(pid: number, graceMs = 8000): Promise<void> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  signal(-pid, 'SIGKILL');
  signal(pid, 'SIGKILL');
}

/**
 * Every process whose environment has `STRAIT_HOME=<home>` (Linux `/proc`): whatever the demo's
 * processes started, even if a record was lost to a hard kill.
 */
export function processesOfHome(home: string): number[] {
  if (!existsSync('/proc')) return [];
  const marker = Buffer.from(`STRAIT_HOME=${home}\0`);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`).includes(marker)) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/**
 * The long-running processes of a demo (the operator, the workloads), each in its
 * own process group with its output in `<home>/logs/<name>.log`, recorded in `<home>/processes.json`
 * so that `strait demo down` finds them after the demo itself has exited.
 */
export class DemoProcesses {
  readonly home: string;
  readonly #children = new Map<string, ChildProcess>();

  constructor(home: string) {
    this.home = home;
  }

  static recordFile(home: string): string {
    return join(home, 'processes.json');
  }

  static recorded(home: string): DemoProcess[] {
    try {
      return JSON.parse(readFileSync(DemoProcesses.recordFile(home), 'utf8')) as DemoProcess[];
    } catch {
      return [];
    }
  }

  /** Starts `command` in the background with `env`; its output goes to its log file. */
  start(name: string, command: string[], env: NodeJS.ProcessEnv): DemoProcess {
    mkdirSync(join(this.home, 'logs'), { recursive: true });
    const log = join(this.home, 'logs', `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(command[0] as string, command.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      env,
    });
    closeSync(fd);
    child.unref();
    child.on('error', () => {});
    this.#children.set(name, child);
    const started = { name, pid: child.pid as number, log };
    this.#save([...DemoProcesses.recorded(this.home).filter((p) => p.name !== name), started]);
    return started;
  }

  /** The log of `name` so far. */
  log(name: string): string {
    try {
      return readFileSync(join(this.home, 'logs', `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** Whether `name` has exited (it was started by this object). */
  exited(name: string): boolean {
    const child = this.#children.get(name);
    return child !== undefined && (child.exitCode !== null || child.signalCode !== null);
  }

  /** Stops `name` and its process group and forgets it. */
  async stop(name: string): Promise<void> {
    const record = DemoProcesses.recorded(this.home).find((p) => p.name === name);
    // A recorded pid is signalled only while it still runs with this demo's home (pids are reused).
    if (record && (this.#children.has(name) || processesOfHome(this.home).includes(record.pid))) {
      await stopProcessGroup(record.pid);
    }
    this.#children.delete(name);
    this.#save(DemoProcesses.recorded(this.home).filter((p) => p.name !== name));
  }

  /**
   * Stops every recorded process at once. Used to tear everything down, so proxies get only
   * `graceMs` to drain before their groups are killed.
   */
  async stopAll(graceMs = 2000): Promise<void> {
    const records = DemoProcesses.recorded(this.home);
    const running = processesOfHome(this.home);
    await Promise.all(
      records
        .filter((record) => this.#children.has(record.name) || running.includes(record.pid))
        .map((record) => stopProcessGroup(record.pid, graceMs)),
    );
    this.#children.clear();
    this.#save([]);
  }

  #save(records: DemoProcess[]): void {
    if (existsSync(this.home)) writeFileSync(DemoProcesses.recordFile(this.home), JSON.stringify(records));
  }
}

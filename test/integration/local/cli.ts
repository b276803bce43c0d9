import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The strait CLI entry point and the Node that runs it. */
export const STRAIT = fileURLToPath(new URL('../../../src/cmd/strait.ts', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `strait ARGS` as a process with STRAIT_HOME set; resolves when it exits. */
export function strait(home: string, args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STRAIT, ...args], {
      env: { ...process.env, STRAIT_HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

const backgroundOutput = new WeakMap<ChildProcess, string>();

/**
 * Starts `strait ARGS` in the background (for `local run`). Its output is read as it comes, since
 * a full pipe would block the process, and kept for failure messages (see `outputOf`).
 */
export function straitInBackground(home: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [STRAIT, ...args], {
    env: { ...process.env, STRAIT_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  backgroundOutput.set(child, '');
  const keep = (chunk: Buffer) => backgroundOutput.set(child, backgroundOutput.get(child) + String(chunk));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

/** What a process from `straitInBackground` has written so far (stdout and stderr). */
export function outputOf(child: ChildProcess): string {
  return backgroundOutput.get(child) ?? '';
}

/** Sends SIGTERM to a process that still runs and resolves once it has exited. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

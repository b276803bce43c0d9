// `strait tap` as a user runs it against a proxy's tap port, while requests keep coming, so the
// stream has something to show before its `-n` limit ends it.
import { spawn } from 'node:child_process';
import { STRAIT } from '../../fixtures/strait-cli.ts';

/** How a `strait tap` process ended and what it wrote. */
export interface TapRun {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `strait tap --address 127.0.0.1:<tapPort> FLAGS`, calling `send` every 100 ms until it exits. */
export async function tapWhileSending(
  tapPort: number,
  flags: string[],
  send: () => Promise<unknown>,
): Promise<TapRun> {
  const child = spawn(process.execPath, [STRAIT, 'tap', '--address', `127.0.0.1:${tapPort}`, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let running = true;
  void exited.then(() => (running = false));
  while (running) {
    await send();
    await new Promise((r) => setTimeout(r, 100));
  }
  return { code: await exited, out, err };
}

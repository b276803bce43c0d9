import { describeError, StraitError } from '../../../core/errors.ts';

/** Timestamped lines on stdout, as the control-plane processes log. */
export function logLine(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/**
 * Runs a control-plane process: `start` brings it up and returns how to stop
 * it. A startup failure exits 1 with the reason; SIGTERM or SIGINT drains
 * (open streams end, listeners close) and exits 0.
 */
export async function runComponent(name: string, start: () => Promise<() => Promise<void>>): Promise<void> {
  let stop: () => Promise<void>;
  try {
    stop = await start();
  } catch (error) {
    const hint = error instanceof StraitError && error.hint ? `; hint: ${error.hint}` : '';
    logLine(`${name} cannot start: ${describeError(error)}${hint}`);
    process.exit(1);
  }
  const drain = (signal: string) => {
    logLine(`${name}: ${signal}, draining`);
    stop().then(
      () => process.exit(0),
      (error) => {
        logLine(`${name}: stopping failed: ${describeError(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', drain);
  process.once('SIGINT', drain);
}

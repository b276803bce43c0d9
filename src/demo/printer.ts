// How the demo talks: numbered steps, the command a user would type, progress while waiting,
// indented evidence, and ✓/× per step.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes the demo's narration to a stream; `live` redraws a progress line (a terminal). */
export class DemoPrinter {
  readonly #out: NodeJS.WritableStream;
  readonly #live: boolean;
  readonly #total: number;
  #step = 0;

  constructor(out: NodeJS.WritableStream, total: number, live: boolean) {
    this.#out = out;
    this.#total = total;
    this.#live = live;
  }

  line(text = ''): void {
    this.#out.write(`${text}\n`);
  }

  step(title: string, what: string): void {
    this.#step++;
    this.line();
    this.line(`[${this.#step}/${this.#total}] ${title}`);
    for (const sentence of what.split('\n')) this.line(`  ${sentence}`);
  }

  command(text: string): void {
    this.line(`  $ ${text}`);
  }

  evidence(text: string): void {
    for (const row of text.replace(/\n$/, '').split('\n')) this.line(`    ${row}`);
  }

  ok(text: string): void {
    this.line(`  ✓ ${text}`);
  }

  fail(text: string): void {
    this.line(`  × ${text}`);
  }

  /**
   * Polls `check` every 250 ms until it returns a value, printing what it waits for with the
   * seconds elapsed; throws after `timeoutMs` with the last error seen.
   */
  async waitFor<T>(
    what: string,
    check: () => Promise<T | undefined>,
    signal: AbortSignal,
    timeoutMs = 60_000,
  ): Promise<T> {
    const started = Date.now();
    const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
    if (!this.#live) this.line(`  … ${what}`);
    let last: unknown;
    while (Date.now() - started < timeoutMs) {
      signal.throwIfAborted();
      if (this.#live) this.#out.write(`\r  … ${what} (${elapsed()})`);
      try {
        const value = await check();
        if (value !== undefined) {
          if (this.#live) this.#out.write('\r\x1b[2K');
          this.ok(`${what}: done in ${elapsed()}`);
          return value;
        }
      } catch (error) {
        last = error;
      }
      await sleep(250);
    }
    if (this.#live) this.#out.write('\n');
    throw new Error(`timed out after ${elapsed()} ${what}${last ? `: ${(last as Error).message}` : ''}`);
  }
}

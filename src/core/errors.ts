/**
 * Errors a user can meet. Each carries a stable `code` (matched by tests,
 * scripts and the CLI), says what was wrong with which input, and, where
 * there is one, what to do about it (`hint`).
 */
export class StraitError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StraitError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** Bad command-line usage: the CLI exits 2 for these, 1 for every other failure. */
export class UsageError extends StraitError {
  constructor(message: string, hint?: string) {
    super('E_USAGE', message, hint === undefined ? {} : { hint });
    this.name = 'UsageError';
  }
}

export function isStraitError(value: unknown): value is StraitError {
  return value instanceof StraitError;
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof StraitError) return `${error.message} (${error.code})`;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

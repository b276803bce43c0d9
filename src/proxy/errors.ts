import { StraitError } from '../core/errors.ts';

/** A connection-level failure in the proxy: the connection ends, the proxy keeps serving. */
export class ProxyError extends StraitError {
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'ProxyError';
  }
}

/** The proxy's configuration (file, environment) is invalid; the process cannot start. */
export class ProxyConfigError extends StraitError {
  constructor(message: string, hint?: string) {
    super('E_PROXY_CONFIG', message, hint === undefined ? {} : { hint });
    this.name = 'ProxyConfigError';
  }
}

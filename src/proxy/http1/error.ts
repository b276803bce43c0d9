import { ProxyError } from '../errors.ts';

/**
 * An HTTP/1 message that breaks the framing rules (RFC 9112): the connection
 * it came on cannot be trusted any further and is answered 400 (a request) or
 * 502 (a response), then closed. `code` names the rule (E_HTTP1_*).
 */
export class Http1Error extends ProxyError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'Http1Error';
  }
}

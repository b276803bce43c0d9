import type { KeepRead } from '../transport/reused-buffer.ts';
import type { UpstreamHead } from './http1-response.ts';

/**
 * The application's side of one outbound HTTP/1 request: what it asked and
 * where the answer goes. The outbound listener makes one per request
 * (app-connection.ts); the forwarder reads the request through it and writes
 * the response to it. Calls after the exchange is over do nothing.
 */
export interface AppExchange {
  readonly method: string;
  /** The request target in origin-form: as sent, or an absolute-form target's path and query. */
  readonly path: string;
  /** The host an absolute-form target (an HTTP proxy client) names; it wins over the Host field. */
  readonly absoluteHost: string | undefined;
  /** The header fields as sent: [name, value, name, value, ...]. */
  readonly rawHeaders: string[];
  /** The Host field's value, if any. */
  readonly host: string | undefined;
  /** The Content-Length, -1 without one. */
  readonly contentLength: number;
  /** The request came with a Transfer-Encoding: its body is chunked. */
  readonly transferEncoding: boolean;
  /** "1.0" or "1.1". */
  readonly httpVersion: string;
  /** The application's address (for tap). */
  readonly remoteAddress: string;
  /** Some of the response has gone to the application: a failure can only reset it now. */
  readonly headersSent: boolean;
  /**
   * The request head for an HTTP/1.1 upstream, from the bytes sent: the
   * origin-form path, `Host: host` instead of the Host field when `host` is
   * given, the end-to-end fields, `Transfer-Encoding: chunked` for a chunked body.
   */
  upstreamHead(host: string | undefined): Buffer;
  /**
   * Reads the request body as it was sent (chunked framing included) and then
   * calls `onEnd`; what arrived before the call comes first. One reader.
   */
  readBody(onData: (chunk: Buffer) => void, onEnd: () => void): void;
  /** Stops the body's reader until `resumeBody` (the upstream is slow). */
  pauseBody(): void;
  resumeBody(): void;
  /** Calls `listener` if the application goes away before the response is complete. */
  onAbort(listener: () => void): void;
  /** Starts the response; `rawHeaders` must be free of hop-by-hop fields. */
  writeHead(status: number, reason: string, rawHeaders: readonly string[]): void;
  /** Starts the response with an upstream HTTP/1 head, passed on as it came (hop-by-hop fields removed). */
  forwardHead(head: UpstreamHead): void;
  /**
   * Writes response body bytes; false when the caller should wait for `onDrain`.
   * With `keep`, `chunk` is a view into a reused read buffer: a write that holds
   * on to it calls `keep()` and its result once it is done with the bytes.
   */
  write(chunk: Buffer, keep?: KeepRead): boolean;
  onDrain(listener: () => void): void;
  /** Ends the response, with `trailers` ([name, value, ...]) if it is sent chunked. */
  end(trailers?: readonly string[]): void;
  /**
   * Answers with the proxy's own error: `status`, `reason` in `l5d-proxy-error`
   * and as the text body; resets the connection instead once the response has started.
   */
  respondError(status: number, reason: string): void;
  /** Resets the application's connection: the response cannot be completed. */
  destroy(): void;
}

import type { Duplex } from 'node:stream';

/** `reason` as one line, fit for a header field such as `l5d-proxy-error`. */
export function oneLine(reason: string): string {
  return reason.replace(/[\r\n]+/g, ' ');
}

/**
 * A complete HTTP/1.1 response of the proxy's own, with `connection: close`:
 * `reason` (line breaks folded) goes in `l5d-proxy-error` and as the text body.
 */
export function simpleResponse(status: number, text: string, reason: string): string {
  const safe = oneLine(reason);
  const body = `${safe}\n`;
  return (
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\nl5d-proxy-error: ${safe}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** How long a closing connection waits for the client to close its side. */
const LINGER_MS = 10_000;

/**
 * Closes a client connection once what was written to it has gone out: ends it
 * (unless `ended`: it was ended with a final write) and waits up to 10 s for
 * the client to close its side, reading and dropping what it still sends.
 * Destroying at once could reset the connection before the client has read
 * everything.
 */
export function lingerClose(client: Duplex, ended = false): void {
  if (!ended) client.end();
  client.resume();
  const timer = setTimeout(() => client.destroy(), LINGER_MS);
  timer.unref();
  client.once('close', () => clearTimeout(timer));
}

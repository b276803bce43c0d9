/**
 * A complete HTTP/1.1 response of the proxy's own, with `connection: close`:
 * `reason` (line breaks folded) goes in `l5d-proxy-error` and as the text body.
 */
export function simpleResponse(status: number, text: string, reason: string): string {
  const safe = reason.replace(/[\r\n]+/g, ' ');
  const body = `${safe}\n`;
  return (
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\nl5d-proxy-error: ${safe}\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

import type { Socket } from 'node:net';

/** What the first bytes of a connection say about its protocol. */
export type DetectedProtocol = 'tls' | 'http2' | 'http1' | 'opaque';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Beyond this many bytes without a complete HTTP/1 request line, the stream is opaque. */
export const MAX_DETECT_BYTES = 8192;
const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Classifies the first bytes of a client's stream; undefined means the bytes
 * so far are a prefix of more than one answer and more are needed.
 */
export function classify(data: Uint8Array): DetectedProtocol | undefined {
  if (data.length === 0) return undefined;
  if (data[0] === 0x16) {
    if (data.length < 2) return undefined;
    return data[1] === 0x03 ? 'tls' : 'opaque';
  }
  if (data[0] === 0x50 /* P */ && isPrefixOf(data, H2_PREFACE)) {
    return data.length >= H2_PREFACE.length ? 'http2' : undefined;
  }
  return classifyHttp1(data);
}

function isPrefixOf(data: Uint8Array, full: Uint8Array): boolean {
  const n = Math.min(data.length, full.length);
  for (let i = 0; i < n; i++) if (data[i] !== full[i]) return false;
  return true;
}

// Request line: METHOD SP request-target SP HTTP/1.x CRLF (a bare LF is tolerated).
function classifyHttp1(data: Uint8Array): DetectedProtocol | undefined {
  let i = 0;
  while (i < data.length && isTokenChar(data[i] as number)) i++;
  if (i === data.length) return i > 20 ? 'opaque' : undefined;
  if (i === 0 || i > 20 || data[i] !== SP) return 'opaque';
  i++;
  const targetStart = i;
  while (i < data.length && (data[i] as number) > SP && data[i] !== 0x7f) i++;
  if (i === data.length) return data.length > MAX_DETECT_BYTES ? 'opaque' : undefined;
  if (i === targetStart || data[i] !== SP) return 'opaque';
  i++;
  const version = 'HTTP/1.';
  for (let k = 0; k < version.length; k++, i++) {
    if (i === data.length) return undefined;
    if (data[i] !== version.charCodeAt(k)) return 'opaque';
  }
  if (i === data.length) return undefined;
  if (data[i] !== 0x30 && data[i] !== 0x31) return 'opaque';
  i++;
  if (i === data.length) return undefined;
  if (data[i] === LF) return 'http1';
  if (data[i] !== CR) return 'opaque';
  i++;
  if (i === data.length) return undefined;
  return data[i] === LF ? 'http1' : 'opaque';
}

function isTokenChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f;
}

/**
 * Waits for the client's first bytes (at most `timeoutMs`) and classifies
 * them; bytes read are put back so the next owner of the socket sees them. A
 * client that says nothing in time, or closes first, is treated as opaque.
 */
export function detectProtocol(socket: Socket, timeoutMs: number): Promise<DetectedProtocol> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    const finish = (protocol: DetectedProtocol) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (buffered.length > 0) socket.unshift(buffered);
      resolve(protocol);
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const protocol = classify(buffered);
      if (protocol !== undefined) finish(protocol);
      else if (buffered.length > MAX_DETECT_BYTES) finish('opaque');
    };
    const onEnd = () => finish('opaque');
    const timer = setTimeout(() => finish('opaque'), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.resume();
  });
}

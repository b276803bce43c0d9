import { ProxyError } from '../errors.ts';
import { decodeHeaderFields, encodeHeaderFields, type HeaderFields } from './header-codec.ts';

/** ALPN protocol a client proxy offers when it will send a transport header. */
export const TRANSPORT_ALPN = 'transport.strait.io/v1';
const PREFACE = Buffer.from(`${TRANSPORT_ALPN}\r\n\r\n`, 'latin1');
/** Upper bound on the encoded header; real headers are well under 300 bytes. */
export const MAX_HEADER_BYTES = 4096;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Request header marking an HTTP/1.1 request carried as an HTTP/2 stream between proxies. */
export const ORIG_PROTO_HEADER = 'strait-orig-proto';

export type SessionProtocol = 'http1' | 'http2' | 'opaque' | 'http1Upgraded';
/** SessionProtocol's oneof field numbers (proto/strait/transport/v1). */
const PROTOCOLS: readonly SessionProtocol[] = ['http1', 'http2', 'opaque', 'http1Upgraded'];

/** What a client proxy tells the receiving proxy about the connection's real target. */
export interface TransportHeader {
  /** Target port on the receiving side. */
  port: number;
  /** Target name without port; empty for the receiving proxy's own workload. */
  name: string;
  protocol: SessionProtocol;
  /** The original caller's identity, honoured only from a trusted forwarder. */
  clientIdentity?: string;
}

/** The transport header is malformed; the connection is closed. */
export class TransportHeaderError extends ProxyError {
  constructor(reason: string) {
    super('E_TRANSPORT_HEADER', `transport header: ${reason}`);
    this.name = 'TransportHeaderError';
  }
}

/** Encodes preface, length and header, ready to write after the handshake. */
export function encodeTransportHeader(header: TransportHeader): Buffer {
  validate(header.port, header.name, header.clientIdentity ?? '');
  const body = encodeHeaderFields({
    port: header.port,
    name: header.name,
    clientIdentity: header.clientIdentity ?? '',
    protocol: PROTOCOLS.indexOf(header.protocol) + 1,
  });
  const out = Buffer.allocUnsafe(PREFACE.length + 4 + body.length);
  PREFACE.copy(out, 0);
  out.writeUInt32BE(body.length, PREFACE.length);
  out.set(body, PREFACE.length + 4);
  return out;
}

/**
 * Parses a header at the start of `data`. Returns undefined when more bytes are
 * needed, else the header and the number of bytes it took. Throws
 * TransportHeaderError as soon as the bytes cannot be a valid header.
 */
export function parseTransportHeader(
  data: Uint8Array,
): { header: TransportHeader; consumed: number } | undefined {
  const prefix = Math.min(data.length, PREFACE.length);
  for (let i = 0; i < prefix; i++) {
    if (data[i] !== PREFACE[i]) throw new TransportHeaderError('bad preface');
  }
  if (data.length < PREFACE.length + 4) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = view.getUint32(PREFACE.length);
  if (length === 0 || length > MAX_HEADER_BYTES) {
    throw new TransportHeaderError(`length ${length} is outside 1..${MAX_HEADER_BYTES}`);
  }
  const end = PREFACE.length + 4 + length;
  if (data.length < end) return undefined;
  let message: HeaderFields;
  try {
    message = decodeHeaderFields(data.subarray(PREFACE.length + 4, end));
  } catch (error) {
    throw new TransportHeaderError(`undecodable body (${(error as Error).message})`);
  }
  const protocol = PROTOCOLS[message.protocol - 1];
  if (protocol === undefined) throw new TransportHeaderError('no session protocol');
  validate(message.port, message.name, message.clientIdentity);
  const header: TransportHeader = { port: message.port, name: message.name, protocol };
  if (message.clientIdentity) header.clientIdentity = message.clientIdentity;
  return { header, consumed: end };
}

function validate(port: number, name: string, clientIdentity: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new TransportHeaderError(`port ${port} is invalid`);
  if (name !== '' && (name.length > 253 || !NAME.test(name))) {
    throw new TransportHeaderError(`name ${JSON.stringify(name.slice(0, 64))} is not a DNS name`);
  }
  if (clientIdentity !== '' && (clientIdentity.length > 253 || !NAME.test(clientIdentity))) {
    throw new TransportHeaderError('client identity is not a DNS name');
  }
}

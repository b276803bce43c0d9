// The gRPC wire format the demo application speaks over HTTP/2: each message is a 5-byte prefix
// (compression flag, big-endian length) and the message; the status travels in trailers. Messages
// are JSON (`application/grpc+json`), so the application needs nothing beyond Node.

/** The one method of the demo back end. */
export const HELLO_PATH = '/strait.demo.v1.Backend/Hello';
export const GRPC_CONTENT_TYPE = 'application/grpc+json';

/** One length-prefixed, uncompressed message. */
export function frame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/** The first message of a response or request body; throws when the body is not one. */
export function unframe(body: Buffer): unknown {
  if (body.length < 5 || body[0] !== 0) throw new Error('not an uncompressed gRPC message');
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) throw new Error('gRPC message cut short');
  return JSON.parse(body.subarray(5, 5 + length).toString('utf8'));
}

import type net from 'node:net';

/** Bytes read per call into a reused buffer: the size of one default socket read. */
const BUFFER_BYTES = 64 * 1024;
/**
 * Once a read fills a whole buffer (bulk transfer), later reads use buffers
 * this large: fewer reads, and larger TLS writes for whoever relays them
 * (the encrypting proxy of a bulk transfer spends a quarter less CPU).
 */
const BULK_BUFFER_BYTES = 256 * 1024;
/** Released buffers a socket holds for later reads (more are left to the GC). */
const SPARE_BUFFERS = 2;

const kSink = Symbol('strait.readSink');
const kReused = Symbol('strait.reusedBuffer');

/**
 * Receives each read of a reused-buffer socket. The bytes are only valid
 * during the call unless `keep()` is called (e.g. when a write still holds
 * them), which moves later reads to another buffer. Each `keep()` returns a
 * `release` to call once that holder is done with the bytes (such as its
 * write's callback); when every holder has released it, the buffer serves a
 * later read instead of a new one. Returning false pauses reading until the
 * socket's `resume()`.
 */
export type ReadSink = (chunk: Buffer, keep: KeepRead) => boolean;

/** Keeps the buffer of the current read for one more holder; returns that holder's release. */
export type KeepRead = () => () => void;

type Tagged = net.Socket & { [kSink]?: ReadSink; [kReused]?: true };

/**
 * Builds a socket that reads into one reused buffer instead of a new Buffer
 * per read, which saves allocation and GC work on relayed connections; a
 * 64 KiB one, or 256 KiB once a read filled it. Until
 * a sink is attached (`attachReadSink`), each read is copied and pushed, so
 * the socket behaves as any other readable stream.
 */
export function withReusedBuffer<T extends net.Socket>(create: (onread: net.OnReadOpts) => T): T {
  let size = BUFFER_BYTES;
  let current = Buffer.allocUnsafe(size);
  const spare: Array<typeof current> = [];
  // Holders of `current`'s bytes, while there are any: the next read goes to another buffer.
  let holders: { buffer: typeof current; count: number } | undefined;
  const keep = () => {
    holders ??= { buffer: current, count: 0 };
    const held = holders;
    held.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--held.count > 0) return;
      // Released before another read came: the next read may use it again.
      if (held === holders) holders = undefined;
      else if (spare.length < SPARE_BUFFERS && held.buffer.length === size) spare.push(held.buffer);
    };
  };
  const socket: T & Tagged = create({
    buffer: () => {
      if (holders) {
        current = spare.pop() ?? Buffer.allocUnsafe(size);
        holders = undefined;
      } else if (current.length < size) current = Buffer.allocUnsafe(size);
      return current;
    },
    callback: (bytes: number) => {
      if (bytes === current.length && size !== BULK_BUFFER_BYTES) {
        size = BULK_BUFFER_BYTES;
        spare.length = 0;
      }
      const chunk = current.subarray(0, bytes);
      const sink = socket[kSink];
      if (sink) return sink(chunk, keep);
      return socket.push(Buffer.from(chunk));
    },
  });
  socket[kReused] = true;
  return socket;
}

/**
 * Sends every later read of `socket` to `sink` if it was built by
 * `withReusedBuffer`; returns false, changing nothing, for any other stream.
 * Bytes pushed before are left in the stream for the caller to read first.
 */
export function attachReadSink(socket: object, sink: ReadSink): boolean {
  const tagged = socket as Tagged;
  if (!tagged[kReused]) return false;
  tagged[kSink] = sink;
  return true;
}

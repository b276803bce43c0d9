import type { Duplex } from 'node:stream';
import { ProxyError } from '../errors.ts';

/**
 * Reads from `stream` until `parse` returns a value (or throws), then puts back
 * the bytes it did not consume. `parse` sees everything read so far and returns
 * undefined while it needs more. Fails on end of stream, on error, after
 * `timeoutMs` (E_PREFIX_TIMEOUT, with the bytes put back), or beyond `maxBytes`.
 */
export function readPrefix<T>(
  stream: Duplex,
  parse: (data: Buffer) => { value: T; consumed: number } | undefined,
  options: { timeoutMs: number; maxBytes: number; what: string },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onEnd);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      let result: { value: T; consumed: number } | undefined;
      try {
        result = parse(buffered);
      } catch (error) {
        fail(error as Error);
        return;
      }
      if (result === undefined) {
        if (buffered.length > options.maxBytes) {
          fail(new ProxyError('E_PREFIX_TOO_LONG', `${options.what}: more than ${options.maxBytes} bytes`));
        }
        return;
      }
      cleanup();
      stream.pause();
      if (result.consumed < buffered.length) stream.unshift(buffered.subarray(result.consumed));
      resolve(result.value);
    };
    const onEnd = () => fail(new ProxyError('E_PREFIX_EOF', `${options.what}: connection closed first`));
    const onError = (error: Error) => fail(error);
    // On timeout the bytes read so far are put back, so the caller may still
    // treat the stream as something else (e.g. opaque).
    const timer = setTimeout(() => {
      cleanup();
      stream.pause();
      if (buffered.length > 0) stream.unshift(buffered);
      reject(
        new ProxyError('E_PREFIX_TIMEOUT', `${options.what}: nothing complete after ${options.timeoutMs} ms`),
      );
    }, options.timeoutMs);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

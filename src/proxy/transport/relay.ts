import type { Duplex } from 'node:stream';
import { ProxyError } from '../errors.ts';
import { attachReadSink } from './reused-buffer.ts';

/**
 * Copies bytes both ways between two connected streams, passing half-closes
 * through, and destroys both when either fails or both directions are done.
 * With `idleMs`, a connection with no bytes either way for that long is
 * closed. Calls `onClose` once with the first error, if any.
 */
export function relay(a: Duplex, b: Duplex, onClose?: (error?: Error) => void, idleMs = 0): void {
  let done = false;
  let ended = 0;
  let active = true;
  const close = (error?: Error) => {
    if (done) return;
    done = true;
    a.destroy();
    b.destroy();
    onClose?.(error);
  };
  const onBytes =
    idleMs > 0
      ? () => {
          active = true;
        }
      : undefined;
  const oneWay = (from: Duplex, to: Duplex) => {
    copy(from, to, onBytes);
    from.once('end', () => {
      to.end();
      if (++ended === 2) close();
    });
    from.once('error', close);
    // Once a side is closed nothing more can reach it: end the other one too.
    from.once('close', () => close());
  };
  oneWay(a, b);
  oneWay(b, a);
  if (idleMs > 0) {
    const timer = setInterval(() => {
      if (!active) close(new ProxyError('E_IDLE_TIMEOUT', `no bytes either way for ${idleMs} ms`));
      active = false;
    }, idleMs);
    timer.unref();
    a.once('close', () => clearInterval(timer));
  }
}

/**
 * Writes everything `from` reads to `to` with backpressure. A socket reading
 * into reused buffers writes straight from them (no Buffer per read, also
 * when writes complete later, as TLS writes do); any other stream is piped.
 */
function copy(from: Duplex, to: Duplex, onBytes: (() => void) | undefined): void {
  const resume = () => from.resume();
  const direct = attachReadSink(from, (chunk, keep) => {
    onBytes?.();
    // The buffer serves another read once this write is done with it.
    const ok = to.write(chunk, keep());
    if (!ok) to.once('drain', resume);
    return ok;
  });
  if (!direct) {
    if (onBytes) from.on('data', onBytes);
    from.pipe(to, { end: false });
    return;
  }
  const early = from.read() as Buffer | null;
  if (early) to.write(early);
  from.resume();
}

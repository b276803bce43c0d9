import type { Duplex } from 'node:stream';
import { ProxyError } from '../errors.ts';

/**
 * Copies bytes both ways between two connected streams, passing half-closes
 * through, and destroys both when either fails or both directions are done.
 * With `idleMs`, a connection with no bytes either way for that long is
 * closed. Calls `onClose` once with the first error, if any.
 */
export function relay(a: Duplex, b: Duplex, onClose?: (error?: Error) => void, idleMs = 0): void {
  let done = false;
  let ended = 0;
  const close = (error?: Error) => {
    if (done) return;
    done = true;
    a.destroy();
    b.destroy();
    onClose?.(error);
  };
  const oneWay = (from: Duplex, to: Duplex) => {
    from.pipe(to, { end: false });
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
    let active = true;
    const mark = () => {
      active = true;
    };
    a.on('data', mark);
    b.on('data', mark);
    const timer = setInterval(() => {
      if (!active) close(new ProxyError('E_IDLE_TIMEOUT', `no bytes either way for ${idleMs} ms`));
      active = false;
    }, idleMs);
    timer.unref();
    a.once('close', () => clearInterval(timer));
  }
}

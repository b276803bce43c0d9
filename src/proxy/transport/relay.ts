import type { Duplex } from 'node:stream';

/**
 * Copies bytes both ways between two connected streams, passing half-closes
 * through, and destroys both when either fails or both directions are done.
 * Calls `onClose` once with the first error, if any.
 */
export function relay(a: Duplex, b: Duplex, onClose?: (error?: Error) => void): void {
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
}

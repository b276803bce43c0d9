/** A running poll; stop() ends it. */
export interface FileWatch {
  stop(): void;
}

/**
 * Reads with `read` every `intervalMs` and calls `onChange` when the result
 * differs from the last one accepted. Polling rather than fs.watch: the
 * kubelet updates a mounted Secret or ConfigMap by swapping a symlink, which
 * inotify on the files misses. When `onChange` throws (say, a half-rotated
 * pair of files), the change is offered again at the next poll.
 */
export function pollForChange<T>(
  read: () => Promise<T>,
  current: T,
  same: (a: T, b: T) => boolean,
  onChange: (next: T) => void,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): FileWatch {
  let last = current;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const next = await read();
      if (!same(next, last)) {
        onChange(next);
        last = next;
      }
    } catch (error) {
      options.onError?.(error);
    } finally {
      busy = false;
    }
  }, options.intervalMs ?? 10_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

import { processCpuMs } from './cpu-time.ts';
import { loadNativeAddon } from './native-addon.ts';
import { threadsNamed } from './process-threads.ts';

interface Addon {
  setIdlePolicy(threadId: number): void;
}

/**
 * V8's worker threads. With `--single-threaded-gc` (how proxies run) they do
 * nothing but compile hot functions in the background.
 */
export const V8_WORKER = 'V8Worker';

/** How often the CPU time used is compared with the warm-up. */
const CHECK_MS = 1000;

/** Whether the idle-threads addon (native/, built at install) is present. */
export function idleCompilersAvailable(): boolean {
  return loadNativeAddon<Addon>('idle_threads') !== null;
}

/**
 * Once the proxy has used `warmUpMs` of CPU time in all, at the first check
 * after that in which it used less than half a CPU (not in the middle of a
 * burst), moves V8's compiler threads to SCHED_IDLE (native/idle_threads.c), so
 * that compiling never delays a request: on a shared CPU, a compile job of
 * 1–40 ms that ran when a request arrived held it up. Until then they keep their
 * normal priority, so the proxy's hot paths get optimized even on a saturated
 * machine: at idle priority from the start, or from the middle of a burst that
 * saturated the machine, compiling starved and the proxy's old generation
 * settled about 10 MB higher (docs/proxy.md, Performance). Later
 * recompilations (after the shape of the traffic changes) are short and few.
 * Does nothing for a warm-up of 0, off Linux, or without the addon (loaded only
 * when the warm-up is over, which keeps it out of an idle proxy's memory).
 */
export function idleCompilersAfterWarmUp(warmUpMs: number): void {
  if (warmUpMs <= 0 || process.platform !== 'linux') return;
  let before = processCpuMs();
  const check = setInterval(() => {
    const used = processCpuMs();
    const lastCheck = used - before;
    before = used;
    if (used < warmUpMs || lastCheck > CHECK_MS / 2) return;
    clearInterval(check);
    const addon = loadNativeAddon<Addon>('idle_threads');
    if (!addon) return;
    for (const thread of threadsNamed(V8_WORKER)) {
      try {
        addon.setIdlePolicy(thread);
      } catch {
        // A thread that ended meanwhile, or a kernel that refuses: it keeps its priority.
      }
    }
  }, CHECK_MS);
  check.unref();
}

import { processCpuMs } from './cpu-time.ts';

/** How often the CPU time used is compared with the threshold. */
const CHECK_MS = 1000;

/**
 * Once the proxy has used `afterCpuMs` of CPU time since this call (made when
 * it has started: it carries traffic), puts V8's heap in memory-saver mode: the
 * old generation may grow by 2 MB instead of 8 MB between mark-compacts, and
 * the young generation shrinks when little survives. Under load the old
 * generation then stays near what is live instead of settling 8–10 MB higher
 * after some bursts, for about 7% more CPU per request at full load
 * (docs/proxy.md, Memory). Not from the start: the flag during startup, and
 * loading `node:v8` to set it, add 0.3–0.5 MB to an idle proxy. Does nothing
 * for 0. `switched` hears the CPU time used since the call.
 */
export function memorySaverOnceInUse(afterCpuMs: number, switched?: (cpuMs: number) => void): void {
  if (afterCpuMs <= 0) return;
  const start = processCpuMs();
  const check = setInterval(() => {
    const used = processCpuMs() - start;
    if (used < afterCpuMs) return;
    clearInterval(check);
    // V8 reads the flag at each decision, so setting it at run time takes effect.
    process.getBuiltinModule('node:v8').setFlagsFromString('--memory-saver-mode');
    switched?.(Math.round(used));
  }, CHECK_MS);
  check.unref();
}

import { loadNativeAddon } from './native-addon.ts';

interface Addon {
  startMallocTrim(intervalMs: number): boolean;
}

/** Whether the malloc trimmer addon (native/, built at install) is present. */
export function memoryTrimAvailable(): boolean {
  return loadNativeAddon<Addon>('malloc_trim') !== null;
}

/**
 * Hands the free pages of every malloc arena back to the kernel every
 * `intervalMs`, from a thread of its own (native/malloc_trim.c). Without it a
 * proxy keeps what V8's compiler threads freed after warming up, about 4 MB
 * (docs/proxy.md, Memory). Returns whether the trimmer runs: not for an
 * interval of 0, without the addon, or on a C library other than glibc.
 */
export function startMemoryTrim(intervalMs: number): boolean {
  if (intervalMs <= 0) return false;
  const addon = loadNativeAddon<Addon>('malloc_trim');
  return addon?.startMallocTrim(Math.max(1, Math.min(Math.round(intervalMs), 2 ** 31))) ?? false;
}

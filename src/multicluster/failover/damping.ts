import type { FailoverPolicy } from './policy.ts';

/**
 * Flap score in the manner of BGP route-flap damping: each failover adds one,
 * and the score halves every `flapHalfLifeMs`. The hold-down doubles for each
 * whole point above one, up to `maxHoldDownMs`.
 */
export interface FlapScore {
  score: number;
  /** When `score` was last brought up to date (ms since the epoch). */
  at: number;
}

export function decayedScore(flap: FlapScore | undefined, now: number, policy: FailoverPolicy): number {
  if (!flap) return 0;
  const elapsed = Math.max(0, now - flap.at);
  return flap.score * 0.5 ** (elapsed / policy.flapHalfLifeMs);
}

/** Records one more flap at `now`. */
export function recordFlap(flap: FlapScore | undefined, now: number, policy: FailoverPolicy): FlapScore {
  return { score: decayedScore(flap, now, policy) + 1, at: now };
}

/** Hold-down that applies at `now` given the flaps so far. */
export function holdDownFor(flap: FlapScore | undefined, now: number, policy: FailoverPolicy): number {
  const score = decayedScore(flap, now, policy);
  // Rounded, so a flap within about one half-life of the last one still doubles.
  const doublings = Math.max(0, Math.round(score) - 1);
  return Math.min(policy.maxHoldDownMs, policy.holdDownMs * 2 ** doublings);
}

/** The flap score as kept in `status.failover.flap`, so it outlives the operator. */
export interface StoredFlap {
  score: string;
  at: string;
}

export function storedFlap(flap: FlapScore): StoredFlap {
  return { score: String(Math.round(flap.score * 10_000) / 10_000), at: new Date(flap.at).toISOString() };
}

/** The score read back from status; undefined when absent or unreadable. */
export function flapFromStatus(stored: StoredFlap | undefined): FlapScore | undefined {
  if (!stored) return undefined;
  const score = Number(stored.score);
  const at = Date.parse(stored.at);
  return Number.isFinite(score) && score >= 0 && !Number.isNaN(at) ? { score, at } : undefined;
}

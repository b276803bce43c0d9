/** What the balancer needs to know about a candidate. */
export interface Candidate {
  weight: number;
  load(): number;
  available(): boolean;
}

/**
 * Power of two choices: draws two distinct candidates at random, each with
 * probability proportional to its weight, and returns the one with the lower
 * load per unit of weight. Ejected candidates are skipped unless none is left.
 */
export function pickP2c<T extends Candidate>(
  candidates: readonly T[],
  random: () => number = Math.random,
): T | undefined {
  let pool = candidates.filter((c) => c.available());
  if (pool.length === 0) pool = [...candidates];
  if (pool.length <= 1) return pool[0];
  const weighted = pool.filter((c) => c.weight > 0);
  if (weighted.length > 0) pool = weighted;
  if (pool.length === 1) return pool[0];
  const first = drawWeighted(pool, random, undefined);
  const second = drawWeighted(pool, random, first);
  const score = (c: T) => c.load() / Math.max(c.weight, 1e-9);
  return score(second) < score(first) ? second : first;
}

function drawWeighted<T extends Candidate>(
  pool: readonly T[],
  random: () => number,
  exclude: T | undefined,
): T {
  let total = 0;
  for (const c of pool) if (c !== exclude) total += weightOf(c);
  let point = random() * total;
  let last: T | undefined;
  for (const c of pool) {
    if (c === exclude) continue;
    last = c;
    point -= weightOf(c);
    if (point < 0) return c;
  }
  return last as T;
}

function weightOf(c: Candidate): number {
  return c.weight > 0 ? c.weight : 1;
}

import { TOTAL_WEIGHT } from './policy.ts';

export type Weights = Record<string, number>;

/** Splits `total` as evenly as whole numbers allow; earlier names get the remainder. */
export function spread(total: number, names: readonly string[]): Weights {
  const weights: Weights = {};
  if (names.length === 0) return weights;
  const base = Math.floor(total / names.length);
  let remainder = total - base * names.length;
  for (const name of names) {
    weights[name] = base + (remainder > 0 ? 1 : 0);
    if (remainder > 0) remainder--;
  }
  return weights;
}

/**
 * Scales weights of any size (Linkerd writes 1 and 0) to whole numbers adding
 * up to TOTAL_WEIGHT, by largest remainder. All-zero stays all-zero.
 */
export function normalise(weights: Weights, names: readonly string[]): Weights {
  const sum = names.reduce((total, name) => total + Math.max(0, weights[name] ?? 0), 0);
  const result: Weights = Object.fromEntries(names.map((name) => [name, 0]));
  if (sum === 0) return result;
  const exact = names.map((name) => (Math.max(0, weights[name] ?? 0) * TOTAL_WEIGHT) / sum);
  let left = TOTAL_WEIGHT;
  names.forEach((name, i) => {
    result[name] = Math.floor(exact[i] as number);
    left -= result[name];
  });
  const byRemainder = names
    .map((name, i) => ({ name, fraction: (exact[i] as number) - Math.floor(exact[i] as number) }))
    .sort((a, b) => b.fraction - a.fraction);
  for (let i = 0; left > 0; i++, left--) {
    const entry = byRemainder[i % byRemainder.length] as { name: string };
    result[entry.name] = (result[entry.name] ?? 0) + 1;
  }
  return result;
}

export function sameWeights(a: Weights, b: Weights, names: readonly string[]): boolean {
  return names.every((name) => (a[name] ?? 0) === (b[name] ?? 0));
}

export interface CapResult {
  weights: Weights;
  /** True when some weight was held back from a degrading backend. */
  capped: boolean;
}

/**
 * Limits how much weight each degrading backend gains over `current` to
 * `maxGain`. What is held back goes to the `absorbers` (healthy backends that
 * can take it); with no absorber the target stands, since the alternative is
 * sending requests nowhere.
 */
export function capShift(
  current: Weights,
  target: Weights,
  degrading: ReadonlySet<string>,
  maxGain: number,
  absorbers: readonly string[],
): CapResult {
  const weights: Weights = { ...target };
  let excess = 0;
  for (const name of degrading) {
    const limit = (current[name] ?? 0) + maxGain;
    const wanted = weights[name] ?? 0;
    if (wanted > limit) {
      excess += wanted - limit;
      weights[name] = limit;
    }
  }
  if (excess === 0) return { weights, capped: false };
  const takers = absorbers.filter((name) => !degrading.has(name));
  if (takers.length === 0) return { weights: { ...target }, capped: false };
  for (const [name, extra] of Object.entries(spread(excess, takers))) {
    weights[name] = (weights[name] ?? 0) + extra;
  }
  return { weights, capped: true };
}

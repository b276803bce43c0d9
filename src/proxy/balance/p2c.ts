/** What the balancer needs to know about a candidate. */
export interface Candidate {
  weight: number;
  /**
   * The backend a candidate serves (e.g. one service of a traffic split).
   * Traffic is shared between backends by weight before latency counts.
   */
  readonly group?: string;
  load(): number;
  available(): boolean;
}

/**
 * Picks a candidate. Candidates are grouped by backend and weight; a group is
 * chosen at random in proportion to its total weight (so traffic splits hold
 * exactly, however fast each side is), then power of two choices over
 * peak-EWMA load picks within the group: the less loaded of two distinct
 * random members. Ejected candidates are skipped unless none is left;
 * zero-weight ones get traffic only when nothing else is there.
 */
export function pickP2c<T extends Candidate>(
  candidates: readonly T[],
  random: () => number = Math.random,
): T | undefined {
  // One candidate (the usual service behind one endpoint, or a gateway) is the pick whatever its state.
  if (candidates.length <= 1) return candidates[0];
  let pool = candidates.filter((c) => c.available());
  if (pool.length === 0) pool = [...candidates];
  const weighted = pool.filter((c) => c.weight > 0);
  if (weighted.length > 0) pool = weighted;
  if (pool.length <= 1) return pool[0];
  return twoChoices(chooseGroup(pool, random), random);
}

function chooseGroup<T extends Candidate>(pool: T[], random: () => number): T[] {
  const first = pool[0] as T;
  if (pool.every((c) => c.weight === first.weight && c.group === first.group)) return pool;
  const groups = new Map<string, { members: T[]; total: number }>();
  let total = 0;
  for (const c of pool) {
    const key = `${c.group ?? ''}\u0000${c.weight}`;
    const group = groups.get(key);
    if (group) {
      group.members.push(c);
      group.total += c.weight;
    } else groups.set(key, { members: [c], total: c.weight });
    total += c.weight;
  }
  if (total === 0) return pool;
  let point = random() * total;
  let chosen: T[] = pool;
  for (const group of groups.values()) {
    chosen = group.members;
    point -= group.total;
    if (point < 0) break;
  }
  return chosen;
}

function twoChoices<T extends Candidate>(group: T[], random: () => number): T {
  if (group.length === 1) return group[0] as T;
  const i = Math.floor(random() * group.length);
  let j = Math.floor(random() * (group.length - 1));
  if (j >= i) j++;
  const a = group[i] as T;
  const b = group[j] as T;
  return b.load() < a.load() ? b : a;
}

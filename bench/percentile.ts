/** The nearest-rank `p`th percentile (0–100) of ascending `sorted`; NaN when it is empty. */
export function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

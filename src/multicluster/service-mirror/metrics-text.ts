/** Reading the mirror controller's Prometheus text back (for `strait mc gateways`). */

/**
 * Quantiles of one histogram series from Prometheus text: `name` and the
 * labels its series must carry. Each quantile is the upper bound of the
 * bucket it falls in; undefined when the histogram is empty or absent.
 */
export function histogramQuantiles(
  text: string,
  name: string,
  labels: Record<string, string>,
  quantiles: number[],
): (number | undefined)[] {
  const buckets: { le: number; count: number }[] = [];
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const close = line.indexOf('}');
    const labelText = line.slice(name.length + 8, close);
    if (!wanted.every((w) => labelText.split(',').includes(w))) continue;
    const le = /le="([^"]+)"/.exec(labelText)?.[1];
    if (le === undefined) continue;
    buckets.push({
      le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le),
      count: Number(line.slice(close + 1).trim()),
    });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  return quantiles.map((q) => {
    if (total === 0) return undefined;
    return buckets.find((b) => b.count >= q * total)?.le;
  });
}

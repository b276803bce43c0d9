/**
 * A set of ports written as in `config.strait.io/opaque-ports`:
 * `3306,5432,10000-10010`. Entries that are not ports or ranges are skipped,
 * so one typo does not stop the rest from applying.
 */
export function parsePortSet(text: string | undefined): (port: number) => boolean {
  if (!text) return () => false;
  const singles = new Set<number>();
  const ranges: [number, number][] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    const range = entry.match(/^(\d+)-(\d+)$/);
    if (range) {
      const low = Number(range[1]);
      const high = Number(range[2]);
      if (low >= 1 && high <= 65535 && low <= high) ranges.push([low, high]);
    } else if (/^\d+$/.test(entry)) {
      const port = Number(entry);
      if (port >= 1 && port <= 65535) singles.add(port);
    }
  }
  return (port) => singles.has(port) || ranges.some(([low, high]) => port >= low && port <= high);
}

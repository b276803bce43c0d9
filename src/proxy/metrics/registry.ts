/** Latency buckets in milliseconds, the same as Linkerd's, so dashboards carry over. */
export const LATENCY_BUCKETS_MS = [
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000,
  30000, 40000, 50000,
];

/** Formats labels once into the text Prometheus expects between braces; reuse the result. */
export function formatLabels(labels: Record<string, string | undefined>): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (value === undefined || value === '') continue;
    parts.push(`${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  }
  return parts.join(',');
}

type Kind = 'counter' | 'gauge' | 'histogram';

interface HistogramSeries {
  counts: Float64Array;
  sum: number;
  count: number;
}

/** One metric family; series are keyed by their formatted label text. */
export class Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly #values = new Map<string, number>();
  readonly #histograms = new Map<string, HistogramSeries>();
  readonly #buckets: number[];

  constructor(name: string, help: string, kind: Kind, buckets: number[] = []) {
    this.name = name;
    this.help = help;
    this.kind = kind;
    this.#buckets = buckets;
  }

  inc(labels: string, by = 1): void {
    this.#values.set(labels, (this.#values.get(labels) ?? 0) + by);
  }

  set(labels: string, value: number): void {
    this.#values.set(labels, value);
  }

  observe(labels: string, value: number): void {
    let series = this.#histograms.get(labels);
    if (!series) {
      series = { counts: new Float64Array(this.#buckets.length), sum: 0, count: 0 };
      this.#histograms.set(labels, series);
    }
    for (let i = 0; i < this.#buckets.length; i++)
      if (value <= (this.#buckets[i] as number)) series.counts[i] = (series.counts[i] as number) + 1;
    series.sum += value;
    series.count++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`);
    for (const [labels, value] of this.#values)
      out.push(`${this.name}${labels ? `{${labels}}` : ''} ${value}`);
    for (const [labels, series] of this.#histograms) {
      const sep = labels ? ',' : '';
      for (let i = 0; i < this.#buckets.length; i++) {
        out.push(`${this.name}_bucket{${labels}${sep}le="${this.#buckets[i]}"} ${series.counts[i]}`);
      }
      out.push(`${this.name}_bucket{${labels}${sep}le="+Inf"} ${series.count}`);
      out.push(`${this.name}_sum${labels ? `{${labels}}` : ''} ${series.sum}`);
      out.push(`${this.name}_count${labels ? `{${labels}}` : ''} ${series.count}`);
    }
  }
}

/** A set of families rendered together in Prometheus text format. */
export class Registry {
  readonly #families: Family[] = [];

  counter(name: string, help: string): Family {
    return this.#add(new Family(name, help, 'counter'));
  }

  gauge(name: string, help: string): Family {
    return this.#add(new Family(name, help, 'gauge'));
  }

  histogram(name: string, help: string, buckets: number[]): Family {
    return this.#add(new Family(name, help, 'histogram', buckets));
  }

  render(): string {
    const out: string[] = [];
    for (const family of this.#families) family.render(out);
    return `${out.join('\n')}\n`;
  }

  #add(family: Family): Family {
    this.#families.push(family);
    return family;
  }
}

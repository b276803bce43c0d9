/** Metadata of one proxied request, as shown by `strait tap`. */
export interface TapRecord {
  direction: 'inbound' | 'outbound';
  method: string;
  authority: string;
  path: string;
  status: number;
  latencyMs: number;
  clientId: string;
  serverId: string;
  source: string;
  destination: string;
  startedAtMs: number;
  error: string;
}

export interface TapFilter {
  authority?: string;
  pathPrefix?: string;
  method?: string;
}

/**
 * Fans request records out to live observers. Publishing costs one check when
 * nobody is watching.
 */
export class TapHub {
  readonly #observers = new Set<{ filter: TapFilter; push: (record: TapRecord) => void }>();

  get active(): boolean {
    return this.#observers.size > 0;
  }

  publish(record: TapRecord): void {
    for (const observer of this.#observers) {
      const f = observer.filter;
      if (f.authority && f.authority !== record.authority) continue;
      if (f.method && f.method !== record.method) continue;
      if (f.pathPrefix && !record.path.startsWith(f.pathPrefix)) continue;
      observer.push(record);
    }
  }

  /** Adds an observer; call the returned function to remove it. */
  observe(filter: TapFilter, push: (record: TapRecord) => void): () => void {
    const observer = { filter, push };
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }
}

import type { TrafficSplit } from '../../core/api/traffic.ts';
import { formatAge } from '../../core/duration.ts';
import { Kinds } from '../../core/kinds.ts';
import type { ListOptions } from '../../core/store.ts';
import { isFailoverControlled, primaryOf } from '../../multicluster/failover/index.ts';
import { type Command, optionalString } from '../command.ts';
import { openContextStore } from '../context.ts';
import { formatDocument, formatTable, outputFormat, outputOption } from '../output.ts';

/** One managed TrafficSplit as `strait failover status` shows it. */
export interface FailoverStatusEntry {
  namespace: string;
  trafficSplit: string;
  primary: string;
  /** `Unknown` until the operator has written a status. */
  state: string;
  reason: string;
  activeBackends: string[];
  weights: Record<string, number>;
  since: string | undefined;
}

/** The managed splits among `splits`, sorted by namespace and name. */
export function failoverStatusEntries(splits: readonly TrafficSplit[]): FailoverStatusEntry[] {
  return splits
    .filter((split) => isFailoverControlled(split))
    .map((split) => {
      const failover = split.status?.failover;
      const backends = split.spec?.backends ?? [];
      return {
        namespace: split.metadata.namespace ?? '',
        trafficSplit: split.metadata.name,
        primary: primaryOf(split) ?? '',
        state: failover?.state ?? 'Unknown',
        reason: failover?.reason ?? '',
        activeBackends:
          failover?.activeBackends ?? backends.filter((b) => b.weight > 0).map((b) => b.service),
        weights: Object.fromEntries(backends.map((b) => [b.service, b.weight])),
        since: failover?.since,
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.trafficSplit.localeCompare(b.trafficSplit));
}

/** The status table; SINCE is an age relative to `now`. */
export function formatFailoverStatus(entries: readonly FailoverStatusEntry[], now: number): string {
  const headers = ['NAMESPACE', 'TRAFFIC_SPLIT', 'STATE', 'ACTIVE_BACKENDS', 'WEIGHTS', 'SINCE', 'REASON'];
  const rows = entries.map((entry) => {
    const since = entry.since === undefined ? Number.NaN : Date.parse(entry.since);
    return [
      entry.namespace,
      entry.trafficSplit,
      entry.state,
      entry.activeBackends.join(',') || '-',
      Object.entries(entry.weights)
        .map(([name, weight]) => `${name}=${weight}`)
        .join(','),
      Number.isNaN(since) ? '-' : formatAge(now - since),
      entry.reason || '-',
    ];
  });
  return formatTable(headers, rows);
}

const statusCommand: Command = {
  name: 'status',
  summary: 'Show the failover state of every managed TrafficSplit',
  options: {
    namespace: {
      type: 'string',
      short: 'n',
      valueName: 'NS',
      description: 'only this namespace (default: all)',
    },
    selector: {
      type: 'string',
      short: 'l',
      valueName: 'SELECTOR',
      description: 'label selector of the splits',
    },
    ...outputOption,
  },
  async run(ctx) {
    const format = outputFormat(ctx.values.output);
    const options: ListOptions = {};
    const namespace = optionalString(ctx.values, 'namespace');
    const selector = optionalString(ctx.values, 'selector');
    if (namespace) options.namespace = namespace;
    if (selector) options.labelSelector = selector;
    const { store, close } = await openContextStore(ctx.values, ctx.env);
    try {
      const splits = await store.list<TrafficSplit>(Kinds.TrafficSplit, options);
      const entries = failoverStatusEntries(splits.items);
      if (format !== 'table') {
        ctx.stdout.write(formatDocument(entries, format));
      } else if (entries.length === 0) {
        ctx.stdout.write('No TrafficSplits labelled failover.strait.io/controlled-by found.\n');
      } else {
        ctx.stdout.write(formatFailoverStatus(entries, Date.now()));
      }
      return 0;
    } finally {
      close();
    }
  },
};

/** `strait failover`: the failover operator's view of managed TrafficSplits. */
export const failoverCommand: Command = {
  name: 'failover',
  summary: 'Inspect the failover operator',
  description:
    'Inspect the failover operator, which moves the traffic of TrafficSplits labelled\n' +
    'failover.strait.io/controlled-by from a failed primary to its secondaries and back.',
  subcommands: [statusCommand],
};

import { formatAge } from '../../../core/duration.ts';
import type { KindInfo } from '../../../core/kinds.ts';
import type { Resource } from '../../../core/resource.ts';

/** Server-side printing: what `kubectl get` shows, as a meta.k8s.io/v1 Table. */
export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string };
  columnDefinitions: { name: string; type: string; format: string; description: string; priority: number }[];
  rows: { cells: unknown[]; object: { kind: string; apiVersion: string; metadata: Resource['metadata'] } }[];
}

interface Column {
  name: string;
  cell(object: Resource): string;
}

type Fields = Record<string, unknown>;
const at = (object: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((value, key) => (value as Fields | undefined)?.[key], object);
const text = (value: unknown, none = '<none>') =>
  value === undefined || value === null || value === '' ? none : String(value);

/** Columns beyond NAME and AGE for the kinds people look at most. */
const COLUMNS: Record<string, Column[]> = {
  'v1/Namespace': [{ name: 'Status', cell: (o) => text(at(o, 'status', 'phase'), '') }],
  'v1/Service': [
    { name: 'Type', cell: (o) => text(at(o, 'spec', 'type'), 'ClusterIP') },
    { name: 'Cluster-IP', cell: (o) => text(at(o, 'spec', 'clusterIP')) },
    {
      name: 'Ports',
      cell: (o) => {
        const ports = (at(o, 'spec', 'ports') ?? []) as { port?: number; protocol?: string }[];
        return text(ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(','));
      },
    },
  ],
  'v1/Endpoints': [
    {
      name: 'Endpoints',
      cell: (o) => {
        const subsets = (at(o, 'subsets') ?? []) as {
          addresses?: { ip: string }[];
          ports?: { port: number }[];
        }[];
        const all = subsets.flatMap((s) =>
          (s.addresses ?? []).flatMap((a) =>
            s.ports?.length ? s.ports.map((p) => `${a.ip}:${p.port}`) : [a.ip],
          ),
        );
        return text(
          all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(','),
        );
      },
    },
  ],
  'local.strait.io/v1alpha1/Workload': [
    { name: 'Address', cell: (o) => text(at(o, 'status', 'address') ?? at(o, 'spec', 'address')) },
    { name: 'Ready', cell: (o) => String(at(o, 'status', 'ready') === true) },
    { name: 'Phase', cell: (o) => text(at(o, 'status', 'phase'), '') },
  ],
  'multicluster.strait.io/v1alpha1/Link': [
    { name: 'Target', cell: (o) => text(at(o, 'spec', 'targetClusterName')) },
    { name: 'Gateway', cell: (o) => text(at(o, 'spec', 'gatewayAddress')) },
  ],
};

/** Whether the client asks for a Table (kubectl get does; it takes a plain list otherwise). */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((mediaType) => {
    const params = mediaType.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && params.includes('v=v1');
  });
}

/**
 * `objects` of `kind` as a Table: NAME, the kind's own columns, AGE. Watch
 * events carry one row each; only the first has the column definitions.
 */
export function tableOf(
  kind: KindInfo,
  objects: Resource[],
  options: { resourceVersion?: string; withColumns?: boolean; now?: number } = {},
): Table {
  const columns = COLUMNS[`${kind.apiVersion}/${kind.kind}`] ?? [];
  const now = options.now ?? Date.now();
  const age = (object: Resource) => {
    const created = Date.parse(String(object.metadata.creationTimestamp ?? ''));
    return Number.isNaN(created) ? '<unknown>' : formatAge(now - created);
  };
  const definition = (name: string, format = '') => ({
    name,
    type: 'string',
    format,
    description: '',
    priority: 0,
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: options.resourceVersion === undefined ? {} : { resourceVersion: options.resourceVersion },
    columnDefinitions:
      options.withColumns === false
        ? []
        : [definition('Name', 'name'), ...columns.map((c) => definition(c.name)), definition('Age')],
    rows: objects.map((object) => ({
      cells: [object.metadata.name, ...columns.map((c) => c.cell(object)), age(object)],
      object: {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: withoutManagedFields(object),
      },
    })),
  };
}

function withoutManagedFields(object: Resource): Resource['metadata'] {
  const { managedFields: _managedFields, ...metadata } = object.metadata;
  return metadata;
}

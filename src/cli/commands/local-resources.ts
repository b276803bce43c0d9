import { formatAge } from '../../core/duration.ts';
import { UsageError } from '../../core/errors.ts';
import { type KindInfo, resolveKindName } from '../../core/kinds.ts';
import { type Resource, refOf } from '../../core/resource.ts';
import { type Command, type CommandContext, optionalString } from '../command.ts';
import { openContextStore } from '../context.ts';
import { appliedVerb, formatDocument, formatTable, outputFormat, outputOption } from '../output.ts';
import { readManifest, readManifestSource } from './local-manifests.ts';

/** Field manager of objects applied from the command line. */
export const CLI_FIELD_MANAGER = 'strait-cli';

const namespaceOptions = {
  namespace: {
    type: 'string' as const,
    short: 'n',
    valueName: 'NS',
    description: 'namespace (default "default")',
  },
};

const filenameOption = {
  filename: {
    type: 'string' as const,
    short: 'f',
    valueName: 'FILE',
    description: 'YAML or JSON file, or - for stdin',
  },
};

function namespaceOf(ctx: CommandContext): string {
  return optionalString(ctx.values, 'namespace') ?? 'default';
}

/** The objects of `file` (or stdin for `-`), in the command's namespace unless they name theirs. */
async function manifestObjects(ctx: CommandContext, file: string) {
  return readManifest(
    await readManifestSource(file, ctx.stdin),
    file === '-' ? 'stdin' : file,
    namespaceOf(ctx),
  );
}

function kindArgument(text: string | undefined): KindInfo {
  if (!text) throw new UsageError('give a kind, e.g. services, workloads, endpoints, links');
  const kind = resolveKindName(text);
  if (!kind)
    throw new UsageError(`the server does not serve kind "${text}"`, 'try services, workloads, endpoints');
  return kind;
}

export const localApplyCommand: Command = {
  name: 'apply',
  summary: 'Create or update resources from a file (server-side apply)',
  options: {
    ...filenameOption,
    force: { type: 'boolean', description: 'take over fields another manager owns' },
    ...namespaceOptions,
  },
  async run(ctx) {
    const file = optionalString(ctx.values, 'filename');
    if (!file) throw new UsageError('-f FILE is required');
    const objects = await manifestObjects(ctx, file);
    const { store, close } = await openContextStore(ctx.values, ctx.env);
    try {
      for (const { object, kind } of objects) {
        const before = await store.get(refOf(object));
        const after = await store.apply(object, {
          fieldManager: CLI_FIELD_MANAGER,
          force: ctx.values.force === true,
        });
        ctx.stdout.write(
          `${kind.kind.toLowerCase()}/${object.metadata.name} ${appliedVerb(before, after)}\n`,
        );
      }
    } finally {
      close();
    }
    return 0;
  },
};

export const localGetCommand: Command = {
  name: 'get',
  summary: 'Show resources of a kind, or one by name',
  args: 'KIND [NAME]',
  options: {
    ...namespaceOptions,
    'all-namespaces': { type: 'boolean', short: 'A', description: 'every namespace' },
    selector: {
      type: 'string',
      short: 'l',
      valueName: 'SELECTOR',
      description: 'label selector, e.g. app=web',
    },
    ...outputOption,
  },
  async run(ctx) {
    const format = outputFormat(ctx.values.output);
    const kind = kindArgument(ctx.positionals[0]);
    const name = ctx.positionals[1];
    if (ctx.positionals.length > 2) throw new UsageError('give a kind and at most one name');
    const all = ctx.values['all-namespaces'] === true;
    const namespace = kind.namespaced && !all ? namespaceOf(ctx) : undefined;
    const { store, close } = await openContextStore(ctx.values, ctx.env);
    try {
      let items: Resource[];
      if (name !== undefined) {
        const object = await store.get({
          apiVersion: kind.apiVersion,
          kind: kind.kind,
          name,
          ...(kind.namespaced ? { namespace: namespaceOf(ctx) } : {}),
        });
        if (!object) {
          ctx.stderr.write(`Error from server (NotFound): ${kind.plural} "${name}" not found\n`);
          return 1;
        }
        items = [object];
      } else {
        const selector = optionalString(ctx.values, 'selector');
        const list = await store.list(kind, {
          ...(namespace ? { namespace } : {}),
          ...(selector ? { labelSelector: selector } : {}),
        });
        items = list.items;
      }
      if (format !== 'table') {
        const value = name !== undefined ? items[0] : { apiVersion: 'v1', kind: 'List', metadata: {}, items };
        ctx.stdout.write(formatDocument(value, format));
      } else if (items.length === 0) {
        ctx.stderr.write(`No resources found${namespace ? ` in ${namespace} namespace` : ''}.\n`);
      } else {
        ctx.stdout.write(renderTable(kind, items, all && kind.namespaced));
      }
    } finally {
      close();
    }
    return 0;
  },
};

export const localDeleteCommand: Command = {
  name: 'delete',
  summary: 'Delete resources by kind and name, or those in a file',
  args: '[KIND NAME...]',
  options: {
    ...filenameOption,
    'ignore-not-found': { type: 'boolean', description: 'succeed when an object does not exist' },
    ...namespaceOptions,
  },
  async run(ctx) {
    const file = optionalString(ctx.values, 'filename');
    const targets: { kind: KindInfo; name: string; namespace?: string }[] = [];
    if (file) {
      for (const { object, kind } of await manifestObjects(ctx, file)) {
        targets.push({
          kind,
          name: object.metadata.name,
          ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
        });
      }
    } else {
      const kind = kindArgument(ctx.positionals[0]);
      const names = ctx.positionals.slice(1);
      if (names.length === 0) throw new UsageError('give the names to delete, or -f FILE');
      for (const name of names)
        targets.push({ kind, name, ...(kind.namespaced ? { namespace: namespaceOf(ctx) } : {}) });
    }
    const { store, close } = await openContextStore(ctx.values, ctx.env);
    let missing = 0;
    try {
      for (const target of targets) {
        const deleted = await store.delete({
          apiVersion: target.kind.apiVersion,
          kind: target.kind.kind,
          name: target.name,
          ...(target.namespace ? { namespace: target.namespace } : {}),
        });
        const label = `${target.kind.kind.toLowerCase()}/${target.name}`;
        if (deleted) ctx.stdout.write(`${label} deleted\n`);
        else if (ctx.values['ignore-not-found'] !== true) {
          missing++;
          ctx.stderr.write(
            `Error from server (NotFound): ${target.kind.plural} "${target.name}" not found\n`,
          );
        }
      }
    } finally {
      close();
    }
    return missing > 0 ? 1 : 0;
  },
};

function renderTable(kind: KindInfo, items: Resource[], withNamespace: boolean): string {
  const age = (o: Resource) =>
    o.metadata.creationTimestamp ? formatAge(Date.now() - Date.parse(o.metadata.creationTimestamp)) : '';
  const columns = extraColumns(kind);
  const headers = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', ...columns.map((c) => c.header), 'AGE'];
  const rows = items.map((o) => [
    ...(withNamespace ? [o.metadata.namespace ?? ''] : []),
    o.metadata.name,
    ...columns.map((c) => c.value(o)),
    age(o),
  ]);
  return formatTable(headers, rows);
}

type Column = { header: string; value: (o: Resource) => string };

function extraColumns(kind: KindInfo): Column[] {
  const get = (o: Resource, path: string[]): unknown =>
    path.reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      o,
    );
  switch (kind.kind) {
    case 'Workload':
      return [
        { header: 'READY', value: (o) => (get(o, ['status', 'ready']) ? 'True' : 'False') },
        { header: 'PHASE', value: (o) => String(get(o, ['status', 'phase']) ?? '') },
        {
          header: 'ADDRESS',
          value: (o) => String(get(o, ['status', 'address']) ?? get(o, ['spec', 'address']) ?? ''),
        },
      ];
    case 'Service':
      return [
        {
          header: 'PORTS',
          value: (o) =>
            ((get(o, ['spec', 'ports']) as { port: number; protocol?: string }[] | undefined) ?? [])
              .map((p) => `${p.port}/${p.protocol ?? 'TCP'}`)
              .join(','),
        },
      ];
    case 'Endpoints':
      return [
        {
          header: 'ENDPOINTS',
          value: (o) => {
            const subsets =
              (o.subsets as { addresses?: { ip: string }[]; ports?: { port: number }[] }[] | undefined) ?? [];
            const list = subsets.flatMap((s) =>
              (s.addresses ?? []).flatMap((a) => (s.ports ?? []).map((p) => `${a.ip}:${p.port}`)),
            );
            return list.length === 0 ? '<none>' : list.join(',');
          },
        },
      ];
    default:
      return [];
  }
}

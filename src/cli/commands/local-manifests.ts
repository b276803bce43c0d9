import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { StraitError } from '../../core/errors.ts';
import { type KindInfo, kindInfo } from '../../core/kinds.ts';
import type { Resource } from '../../core/resource.ts';

/** One object of a manifest, with where it was found. */
export interface ManifestObject {
  object: Resource;
  kind: KindInfo;
  /** `file.yaml, document 2`, for messages. */
  where: string;
}

/** Reads `-f FILE` (or `-` for stdin text already read) into objects; `List` kinds are flattened. */
export function readManifest(text: string, source: string, defaultNamespace: string): ManifestObject[] {
  const objects: ManifestObject[] = [];
  const documents = parseAllDocuments(text);
  const all = Array.isArray(documents) ? documents : [documents];
  all.forEach((document, index) => {
    const where = `${source}, document ${index + 1}`;
    if (document.errors.length > 0) {
      throw new StraitError('E_MANIFEST', `${where}: not valid YAML: ${document.errors[0]?.message}`);
    }
    const value = document.toJS() as unknown;
    if (value === null || value === undefined) return;
    const items =
      typeof value === 'object' && (value as Resource).kind === 'List'
        ? ((value as { items?: unknown[] }).items ?? [])
        : [value];
    for (const item of items) objects.push(checkObject(item, where, defaultNamespace));
  });
  return objects;
}

function checkObject(value: unknown, where: string, defaultNamespace: string): ManifestObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StraitError(
      'E_MANIFEST',
      `${where}: not a resource (a mapping with apiVersion, kind, metadata)`,
    );
  }
  const object = value as Resource;
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
    throw new StraitError('E_MANIFEST', `${where}: apiVersion and kind are required`);
  }
  const kind = kindInfo(object);
  if (!kind) {
    throw new StraitError('E_MANIFEST', `${where}: kind ${object.apiVersion}/${object.kind} is not known`, {
      hint: 'see `strait local get --help` for the kinds a cluster serves',
    });
  }
  if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') {
    throw new StraitError('E_MANIFEST', `${where}: metadata.name is required`);
  }
  if (kind.namespaced) object.metadata.namespace ??= defaultNamespace;
  else if (object.metadata.namespace) {
    throw new StraitError('E_MANIFEST', `${where}: ${object.kind} is cluster-scoped and takes no namespace`);
  }
  return { object, kind, where: `${where} (${kind.plural}/${object.metadata.name})` };
}

/** The text of `-f`: a file, or stdin for `-`. */
export async function readManifestSource(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new StraitError(
      'E_FILE',
      `-f ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

import { StraitError } from '../../../core/errors.ts';
import type { KindInfo } from '../../../core/kinds.ts';
import type { Resource } from '../../../core/resource.ts';

/** One `field=value` or `field!=value` of a field selector. */
interface FieldRequirement {
  field: string;
  value: string;
  equals: boolean;
}

/** Fields every kind can be selected by, as on Kubernetes. */
const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];

/** Further fields by kind (Events by what they are about, for `kubectl describe`). */
const KIND_FIELDS: Record<string, string[]> = {
  'v1/Event': [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'type',
    'source',
  ],
  'v1/Secret': ['type'],
};

/** A field selector that names a field the kind cannot be selected by, or does not parse. */
export class FieldSelectorError extends StraitError {
  constructor(selector: string, reason: string) {
    super('E_FIELD_SELECTOR', `field selector "${selector}": ${reason}`);
    this.name = 'FieldSelectorError';
  }
}

/**
 * Parses a `fieldSelector` (`metadata.name=web,metadata.namespace!=kube-system`)
 * for `kind` into a predicate; throws FieldSelectorError for fields Kubernetes
 * would not select that kind by, or for syntax it would refuse.
 */
export function parseFieldSelector(selector: string, kind: KindInfo): (object: Resource) => boolean {
  const allowed = [...COMMON_FIELDS, ...(KIND_FIELDS[`${kind.apiVersion}/${kind.kind}`] ?? [])];
  const requirements: FieldRequirement[] = [];
  for (const term of splitUnescaped(selector, ',')) {
    if (term.trim() === '') continue;
    const match = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (!match) throw new FieldSelectorError(selector, `"${term}" is not field=value or field!=value`);
    const field = (match[1] as string).trim();
    if (!allowed.includes(field)) {
      throw new FieldSelectorError(selector, `"${field}" is not a field ${kind.kind} can be selected by`);
    }
    requirements.push({ field, value: unescaped(match[3] as string), equals: match[2] !== '!=' });
  }
  return (object) => requirements.every((r) => (fieldValue(object, r.field) === r.value) === r.equals);
}

function fieldValue(object: Resource, field: string): string {
  if (field === 'source') {
    const source = (object as { source?: { component?: string } }).source;
    return source?.component ?? '';
  }
  let value: unknown = object;
  for (const key of field.split('.')) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value === undefined || value === null ? '' : String(value);
}

/** Splits on `separator` where it is not escaped with a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '\\' && i + 1 < text.length) {
      current += char + (text[i + 1] as string);
      i++;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function unescaped(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

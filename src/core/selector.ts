import { StraitError } from './errors.ts';

/** A label requirement, as in Kubernetes' `matchExpressions`. */
export interface LabelRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** The structured selector of Kubernetes resources (`matchLabels` + `matchExpressions`). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelRequirement[];
}

export type Labels = Readonly<Record<string, string>> | undefined;

/** Requirements of a selector; an empty list selects everything. */
export function requirementsOf(selector: LabelSelector | string | undefined): LabelRequirement[] {
  if (selector === undefined) return [];
  if (typeof selector === 'string') return parseSelector(selector);
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    requirements.push({ key, operator: 'In', values: [value] });
  }
  for (const expression of selector.matchExpressions ?? []) requirements.push(expression);
  return requirements;
}

export function matchesRequirements(requirements: readonly LabelRequirement[], labels: Labels): boolean {
  for (const requirement of requirements) {
    const value = labels?.[requirement.key];
    switch (requirement.operator) {
      case 'In':
        if (value === undefined || !requirement.values?.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && requirement.values?.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
    }
  }
  return true;
}

export function matchesSelector(selector: LabelSelector | string | undefined, labels: Labels): boolean {
  return matchesRequirements(requirementsOf(selector), labels);
}

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/**
 * Parses the string form kubectl accepts: `a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined by commas.
 */
export function parseSelector(text: string): LabelRequirement[] {
  const requirements: LabelRequirement[] = [];
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  if (current.trim() !== '' || parts.length > 0) parts.push(current);
  for (const raw of parts) {
    const part = raw.trim();
    const fail = (why: string): never => {
      throw new StraitError('E_SELECTOR', `label selector "${text}": "${part}" ${why}`);
    };
    requirements.push(parseRequirement(part) ?? fail('is not a requirement'));
    const key = (requirements.at(-1) as LabelRequirement).key;
    if (!KEY.test(key)) fail(`has an invalid key "${key}"`);
  }
  return requirements;
}

function parseRequirement(part: string): LabelRequirement | undefined {
  const set = part.match(/^(\S+?)\s+(in|notin)\s+\(([^)]*)\)$/);
  if (set) {
    const values = (set[3] as string).split(',').map((v) => v.trim());
    if (values.some((v) => !VALUE.test(v))) return undefined;
    return { key: set[1] as string, operator: set[2] === 'in' ? 'In' : 'NotIn', values };
  }
  const equality = part.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/);
  if (equality) {
    if (!VALUE.test(equality[3] as string)) return undefined;
    const operator = equality[2] === '!=' ? 'NotIn' : 'In';
    return { key: equality[1] as string, operator, values: [equality[3] as string] };
  }
  const absent = part.match(/^!\s*(\S+)$/);
  if (absent) return { key: absent[1] as string, operator: 'DoesNotExist' };
  if (/^\S+$/.test(part)) return { key: part, operator: 'Exists' };
  return undefined;
}

/** Renders requirements in the string form (for Kubernetes `labelSelector` query parameters). */
export function formatSelector(selector: LabelSelector | string | undefined): string {
  return requirementsOf(selector)
    .map((r) => {
      switch (r.operator) {
        case 'In':
          return r.values?.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values?.join(',')})`;
        case 'NotIn':
          return r.values?.length === 1
            ? `${r.key}!=${r.values[0]}`
            : `${r.key} notin (${r.values?.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
      }
      return '';
    })
    .join(',');
}

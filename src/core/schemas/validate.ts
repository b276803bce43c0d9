import type { FieldError } from '../store.ts';
import { PATTERN_MEANING } from './patterns.ts';
import type { Schema } from './schema.ts';

/**
 * Checks `value` against `schema`. Fields a schema does not declare are
 * errors, except under `x-kubernetes-preserve-unknown-fields` and in objects
 * that declare no fields at all. Paths read like Kubernetes':
 * `spec.ports[0].port`, `metadata.labels[app]`.
 */
export function validateValue(schema: Schema, value: unknown, path = ''): FieldError[] {
  const errors: FieldError[] = [];
  check(schema, value, path, errors);
  return errors;
}

function check(schema: Schema, value: unknown, path: string, errors: FieldError[]): void {
  const fail = (reason: string) => {
    errors.push({ field: path || '(object)', reason });
  };
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value === 'string') checkString(schema, value, fail);
    else if (Number.isInteger(value)) checkNumber(schema, value as number, fail);
    else fail(`must be an integer or a string (got ${show(value)})`);
  } else if (schema.type === 'object') {
    if (isObject(value)) checkObject(schema, value, path, errors);
    else fail(`must be an object (got ${show(value)})`);
  } else if (schema.type === 'array') {
    if (Array.isArray(value)) checkArray(schema, value, path, errors, fail);
    else fail(`must be a list (got ${show(value)})`);
  } else if (schema.type === 'string') {
    if (typeof value === 'string') checkString(schema, value, fail);
    else fail(`must be a string (got ${show(value)})`);
  } else if (schema.type === 'integer') {
    if (Number.isInteger(value)) checkNumber(schema, value as number, fail);
    else fail(`must be an integer (got ${show(value)})`);
  } else if (schema.type === 'number') {
    if (typeof value === 'number' && Number.isFinite(value)) checkNumber(schema, value, fail);
    else fail(`must be a number (got ${show(value)})`);
  } else if (schema.type === 'boolean' && typeof value !== 'boolean') {
    fail(`must be true or false (got ${show(value)})`);
  }
}

function checkObject(
  schema: Schema,
  value: Record<string, unknown>,
  path: string,
  errors: FieldError[],
): void {
  for (const name of schema.required ?? []) {
    if (value[name] === undefined) errors.push({ field: join(path, name), reason: 'is required' });
  }
  const { properties, additionalProperties } = schema;
  const open = schema['x-kubernetes-preserve-unknown-fields'] || (!properties && !additionalProperties);
  for (const [name, child] of Object.entries(value)) {
    const declared = properties?.[name];
    if (declared) check(declared, child, join(path, name), errors);
    else if (additionalProperties) check(additionalProperties, child, `${path}[${name}]`, errors);
    else if (!open) errors.push({ field: join(path, name), reason: 'is not a known field' });
  }
}

function checkArray(
  schema: Schema,
  value: unknown[],
  path: string,
  errors: FieldError[],
  fail: (reason: string) => void,
): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    fail(`must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    fail(`must have at most ${schema.maxItems} items (has ${value.length})`);
  }
  const items = schema.items;
  if (!items) return;
  for (const [i, item] of value.entries()) check(items, item, `${path}[${i}]`, errors);
}

function checkString(schema: Schema, value: string, fail: (reason: string) => void): void {
  if (schema.enum && !schema.enum.includes(value)) {
    fail(`must be one of: ${schema.enum.join(', ')} (got ${show(value)})`);
  } else if (schema.minLength !== undefined && value.length < schema.minLength) {
    fail(schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`);
  } else if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    fail(`must be no more than ${schema.maxLength} characters (has ${value.length})`);
  } else if (schema.pattern !== undefined && !compiled(schema.pattern).test(value)) {
    fail(
      `${PATTERN_MEANING[schema.pattern] ?? `must match the pattern ${schema.pattern}`} (got ${show(value)})`,
    );
  }
}

function checkNumber(schema: Schema, value: number, fail: (reason: string) => void): void {
  const { minimum: min, maximum: max } = schema;
  if (schema.enum && !schema.enum.includes(value)) {
    fail(`must be one of: ${schema.enum.join(', ')} (got ${value})`);
  } else if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    if (min !== undefined && max !== undefined) fail(`must be between ${min} and ${max} (got ${value})`);
    else if (min !== undefined) fail(`must be greater than or equal to ${min} (got ${value})`);
    else fail(`must be less than or equal to ${max} (got ${value})`);
  }
}

const patterns = new Map<string, RegExp>();

function compiled(pattern: string): RegExp {
  let regex = patterns.get(pattern);
  if (!regex) {
    regex = new RegExp(pattern, 'u');
    patterns.set(pattern, regex);
  }
  return regex;
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

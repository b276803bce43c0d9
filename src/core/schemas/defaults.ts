import type { Schema } from './schema.ts';

/**
 * A copy of `value` with every absent field that has a schema `default`
 * filled in, the way the Kubernetes API server defaults custom resources.
 * Values of the wrong type are left for validation to report.
 */
export function withDefaults<T>(schema: Schema, value: T): T {
  if (Array.isArray(value)) {
    const items = schema.items;
    return (items ? value.map((item) => withDefaults(items, item)) : value) as T;
  }
  if (typeof value !== 'object' || value === null || schema.type !== 'object') return value;
  const result: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (result[name] === undefined && child.default !== undefined)
      result[name] = structuredClone(child.default);
    if (result[name] !== undefined) result[name] = withDefaults(child, result[name]);
  }
  const values = schema.additionalProperties;
  if (values) {
    for (const [name, child] of Object.entries(result)) {
      if (!schema.properties?.[name]) result[name] = withDefaults(values, child);
    }
  }
  return result as T;
}

/**
 * A deep copy of a plain JSON value (objects, arrays, strings, numbers,
 * booleans, null). Strings are immutable, so the copy shares them with the
 * original: a watcher's or caller's copy of a stored object costs its
 * objects and arrays, not a second set of strings.
 */
export function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = copyJson((value as Record<string, unknown>)[key]);
  return copy as T;
}

const pool = new Map<string, string>();

/**
 * One shared string for each distinct value of a field with few values
 * (apiVersion, kind, namespace), so thousands of stored objects do not each
 * hold their own copy. Only for such fields: the pool never shrinks.
 */
export function intern(text: string): string {
  const known = pool.get(text);
  if (known !== undefined) return known;
  pool.set(text, text);
  return text;
}

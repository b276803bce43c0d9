import { stringify as toYaml } from 'yaml';
import { UsageError } from '../core/errors.ts';
import type { Resource } from '../core/resource.ts';

export type OutputFormat = 'table' | 'json' | 'yaml' | 'wide';

/** `-o json|yaml`, the output option of commands that print resources or reports. */
export const outputOption = {
  output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'json or yaml' },
} as const;

/** kubectl's word for what an apply did to an object that was `before` and is now `after`. */
export function appliedVerb(
  before: Resource | undefined,
  after: Resource,
): 'created' | 'unchanged' | 'configured' {
  if (!before) return 'created';
  return before.metadata.resourceVersion === after.metadata.resourceVersion ? 'unchanged' : 'configured';
}

/** Validates `-o`; `allowed` lists what the command supports besides the table. */
export function outputFormat<F extends Exclude<OutputFormat, 'table'> = 'json' | 'yaml'>(
  value: unknown,
  allowed: F[] = ['json', 'yaml'] as F[],
): F | 'table' {
  if (value === undefined || value === '') return 'table';
  if (typeof value === 'string' && (allowed as string[]).includes(value)) return value as F;
  throw new UsageError(`-o "${String(value)}" is not supported`, `use one of: ${allowed.join(', ')}`);
}

/** Serializes a value as JSON or YAML, ending with a newline. */
export function formatDocument(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  return toYaml(value, { lineWidth: 0 });
}

/** A kubectl-style table: upper-case headers, columns padded with three spaces. */
export function formatTable(headers: string[], rows: (string | number | boolean)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => String(cell)))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return `${cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] as number)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export interface CheckResult {
  description: string;
  ok: boolean;
  /** Why it failed. */
  error?: string;
  /** What to do about it. */
  hint?: string;
  /** A warning is shown with ‼ and does not fail the run. */
  warning?: boolean;
}

/** Renders checks the linkerd way: a category, then ✓ / × / ‼ per check, with hints. */
export function formatChecks(category: string, results: CheckResult[]): string {
  const lines = [category, '-'.repeat(category.length)];
  for (const result of results) {
    const mark = result.ok ? '✓' : result.warning ? '‼' : '×';
    lines.push(`${mark} ${result.description}`);
    if (!result.ok) {
      if (result.error) lines.push(`    ${result.error}`);
      if (result.hint) lines.push(`    see: ${result.hint}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

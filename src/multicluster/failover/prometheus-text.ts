import { StraitError } from '../../core/errors.ts';

/** One sample line of the Prometheus text exposition format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Text that is not the Prometheus exposition format. */
export class MetricsFormatError extends StraitError {
  constructor(source: string, line: number, reason: string) {
    super('E_METRICS_FORMAT', `${source}: line ${line}: ${reason}`, {
      hint: 'the URL must serve Prometheus text metrics, such as a proxy admin /metrics',
    });
    this.name = 'MetricsFormatError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parses Prometheus text exposition (version 0.0.4). Comments and TYPE/HELP
 * lines are skipped; `wanted`, when given, keeps only those metric names.
 */
export function parsePrometheusText(
  text: string,
  source: string,
  wanted?: ReadonlySet<string>,
): PromSample[] {
  const samples: PromSample[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (reason: string): never => {
      throw new MetricsFormatError(source, index + 1, reason);
    };
    const name = NAME.exec(line)?.[0] ?? fail('no metric name');
    if (wanted && !wanted.has(name)) continue;
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      rest = rest.slice(1);
      for (;;) {
        rest = rest.trimStart();
        if (rest.startsWith('}')) {
          rest = rest.slice(1);
          break;
        }
        const label = LABEL_NAME.exec(rest)?.[0] ?? fail('bad label name');
        rest = rest.slice(label.length).trimStart();
        if (!rest.startsWith('="')) fail(`label ${label} has no quoted value`);
        const { value, end } = readQuoted(rest, 1) ?? fail(`label ${label} has an unterminated value`);
        labels[label] = value;
        rest = rest.slice(end).trimStart();
        if (rest.startsWith(',')) rest = rest.slice(1);
        else if (!rest.startsWith('}')) fail('expected , or } after a label');
      }
    }
    const valueText = rest.trim().split(/\s+/)[0] ?? '';
    const value = parseValue(valueText) ?? fail(`"${valueText}" is not a sample value`);
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Reads a double-quoted, backslash-escaped string starting at `start`. */
function readQuoted(text: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '"') return { value, end: i + 1 };
    if (char === '\\') {
      const next = text[++i];
      value += next === 'n' ? '\n' : (next ?? '');
    } else value += char;
  }
  return undefined;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (text === '' || !/^[-+0-9.eE]+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isNaN(value) ? undefined : value;
}

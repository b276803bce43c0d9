import { parseArgs } from 'node:util';
import { UsageError } from '../core/errors.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** Shown in help, e.g. "DIR". */
  valueName?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  values: OptionValues;
  positionals: string[];
  /** Everything after a literal `--`, e.g. the command of `strait local run`. */
  rest: string[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  aliases?: string[];
  summary: string;
  /** Positional arguments shown in usage, e.g. "FILE...". */
  args?: string;
  description?: string;
  options?: Record<string, OptionSpec>;
  subcommands?: Command[];
  /** Resolves to the exit code (0 when nothing is returned). */
  run?: (ctx: CommandContext) => Promise<number | undefined> | number | undefined;
}

/** Options every command accepts. */
export const globalOptions: Record<string, OptionSpec> = {
  context: {
    type: 'string',
    valueName: 'NAME',
    description: 'cluster to talk to: a local cluster, or a kubeconfig context',
  },
  kubeconfig: { type: 'string', valueName: 'FILE', description: 'kubeconfig file (Kubernetes clusters)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** Finds the command a command line names, and the arguments left for it. */
export function resolveCommand(root: Command, argv: string[]): { path: Command[]; rest: string[] } {
  const path = [root];
  // Global flags may come before the subcommand, as in `strait --context east mc gateways`.
  const globals: string[] = [];
  let index = 0;
  while (index < argv.length) {
    const current = path.at(-1) as Command;
    const word = argv[index] as string;
    const globalLength = globalFlagLength(argv, index);
    if (globalLength > 0 && current.subcommands?.length) {
      globals.push(...argv.slice(index, index + globalLength));
      index += globalLength;
      continue;
    }
    const next = current.subcommands?.find((c) => c.name === word || c.aliases?.includes(word));
    if (!next) break;
    path.push(next);
    index++;
  }
  return { path, rest: [...globals, ...argv.slice(index)] };
}

/** How many words a global flag at `index` takes (0 when there is none). */
function globalFlagLength(argv: string[], index: number): number {
  const word = argv[index] as string;
  const match = /^--([a-z-]+)(=.*)?$/.exec(word);
  const spec = match ? globalOptions[match[1] as string] : undefined;
  if (!spec || match?.[1] === 'help') return 0;
  return spec.type === 'string' && match?.[2] === undefined && index + 1 < argv.length ? 2 : 1;
}

export function parseCommandArgs(
  command: Command,
  argv: string[],
): { values: OptionValues; positionals: string[]; rest: string[] } {
  const dashDash = argv.indexOf('--');
  const own = dashDash === -1 ? argv : argv.slice(0, dashDash);
  const rest = dashDash === -1 ? [] : argv.slice(dashDash + 1);
  const specs = { ...globalOptions, ...command.options };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.type };
    if (spec.short) options[name].short = spec.short;
    if (spec.multiple) options[name].multiple = true;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: own, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ''), `see --help`);
  }
  const values: OptionValues = { ...(parsed.values as OptionValues) };
  for (const [name, spec] of Object.entries(specs)) {
    if (values[name] === undefined && spec.default !== undefined) values[name] = spec.default;
  }
  return { values, positionals: parsed.positionals, rest };
}

export function helpText(path: Command[]): string {
  const command = path.at(-1) as Command;
  const fullName = path.map((c) => c.name).join(' ');
  const lines: string[] = [];
  lines.push(command.description ?? command.summary, '');
  const usage = [fullName];
  if (command.subcommands?.length) usage.push('COMMAND');
  if (command.options && Object.keys(command.options).length) usage.push('[flags]');
  if (command.args) usage.push(command.args);
  lines.push(`Usage:\n  ${usage.join(' ')}`);
  if (command.subcommands?.length) {
    lines.push('', 'Commands:');
    const width = Math.max(...command.subcommands.map((c) => c.name.length));
    for (const sub of command.subcommands) lines.push(`  ${sub.name.padEnd(width)}  ${sub.summary}`);
  }
  const describe = (title: string, specs: Record<string, OptionSpec>) => {
    const entries = Object.entries(specs);
    if (!entries.length) return;
    lines.push('', `${title}:`);
    const labels = entries.map(([name, spec]) => {
      const short = spec.short ? `-${spec.short}, ` : '    ';
      const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
      return `${short}--${name}${value}`;
    });
    const width = Math.max(...labels.map((l) => l.length));
    entries.forEach(([, spec], i) => {
      const def = spec.default !== undefined && spec.default !== false ? ` (default ${spec.default})` : '';
      lines.push(`  ${(labels[i] as string).padEnd(width)}  ${spec.description}${def}`);
    });
  };
  describe('Flags', command.options ?? {});
  describe('Global flags', globalOptions);
  return `${lines.join('\n')}\n`;
}

/** Reads a string flag that must be present. */
export function requireString(values: OptionValues, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function optionalString(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

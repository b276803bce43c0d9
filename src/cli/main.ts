import { describeError, StraitError, UsageError } from '../core/errors.ts';
import { type Command, type CommandContext, helpText, parseCommandArgs, resolveCommand } from './command.ts';
import { rootCommand } from './commands/index.ts';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

/**
 * Runs one command line and resolves to the exit code: 0 on success, 1 when
 * the operation failed, 2 on bad usage.
 */
export async function runCli(argv: string[], io: CliIo, root: Command = rootCommand): Promise<number> {
  const { path, rest } = resolveCommand(root, argv);
  const command = path.at(-1) as Command;
  try {
    const parsed = parseCommandArgs(command, rest);
    if (parsed.values.help || !command.run) {
      if (!command.run && !parsed.values.help && parsed.positionals.length > 0) {
        throw new UsageError(
          `unknown command "${parsed.positionals[0]}" for "${path.map((c) => c.name).join(' ')}"`,
          `run '${path.map((c) => c.name).join(' ')} --help' for the commands`,
        );
      }
      io.stdout.write(helpText(path));
      return parsed.values.help ? 0 : 2;
    }
    const context: CommandContext = { ...parsed, ...io };
    return (await command.run(context)) ?? 0;
  } catch (error) {
    io.stderr.write(`Error: ${describeError(error)}\n`);
    if (error instanceof StraitError && error.hint) io.stderr.write(`Hint: ${error.hint}\n`);
    if (!(error instanceof StraitError) && io.env.STRAIT_DEBUG && error instanceof Error) {
      io.stderr.write(`${error.stack}\n`);
    }
    return error instanceof UsageError ? 2 : 1;
  }
}

import { PassThrough } from 'node:stream';
import { StraitError } from '../core/errors.ts';

/** The outcome of one `strait` command line run in this process. */
export interface StraitResult {
  code: number;
  stdout: string;
  stderr: string;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

/**
 * Runs `strait ARGS` in this process against the demo's home (`env.STRAIT_HOME`) and captures its
 * output. The CLI module is loaded on first use: it registers this command group itself.
 */
export async function runStrait(args: string[], env: NodeJS.ProcessEnv): Promise<StraitResult> {
  const { runCli } = await import('../cli/main.ts');
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const stdin = new PassThrough();
  stdin.end();
  const code = await runCli(args, { stdout, stderr, stdin, env });
  stdout.end();
  stderr.end();
  return { code, stdout: out(), stderr: err() };
}

/** Runs `strait ARGS` and returns its output; a non-zero exit throws E_DEMO_COMMAND. */
export async function mustRunStrait(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runStrait(args, env);
  if (result.code !== 0) {
    throw new StraitError(
      'E_DEMO_COMMAND',
      `strait ${args.join(' ')} exited ${result.code}: ${(result.stderr || result.stdout).trim()}`,
    );
  }
  return result.stdout;
}

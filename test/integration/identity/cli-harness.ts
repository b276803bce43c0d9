import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { runCli } from '../../../src/cli/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a `strait` command line in this process with captured output. */
export async function strait(...argv: string[]): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(argv, { stdout, stderr, stdin: new PassThrough(), env: {} });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** `openssl verify -CAfile ca -untrusted issuer leaf`; returns openssl's output, throws when it fails. */
export function opensslVerify(ca: string, issuer: string, leaf: string): string {
  return execFileSync('openssl', ['verify', '-CAfile', ca, '-untrusted', issuer, leaf], {
    encoding: 'utf8',
    stdio: 'pipe',
  });
}

export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

export const fixtures = new URL('../../fixtures/pki/', import.meta.url).pathname;

// The project's test command: lint and format check, type check, then every
// test (unit tests beside the code, integration and end-to-end suites under
// test/) in one node:test run, so its summary is the last thing printed.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

function step(title: string, command: string, args: string[]): boolean {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) process.stdout.write(`== ${title}: failed\n`);
  return result.status === 0;
}

const only = process.argv.slice(2);
const files =
  only.length > 0 ? only : [...globSync('src/**/*.test.ts'), ...globSync('test/**/*.test.ts')].sort();

let ok = true;
if (only.length === 0) {
  ok = step('lint and format (biome)', bin('biome'), ['check', '.']) && ok;
  ok = step('type check (tsc)', bin('tsc'), ['-p', 'tsconfig.json']) && ok;
}
ok =
  step(`tests (${files.length} files)`, process.execPath, [
    '--test',
    '--test-concurrency=2',
    '--test-timeout=600000',
    ...files,
  ]) && ok;
process.exitCode = ok ? 0 : 1;

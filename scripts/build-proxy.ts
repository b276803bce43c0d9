// Compiles the proxy and gateway entry points, with everything they import, to
// JavaScript in dist/ (git-ignored); `npm install` runs it after the native
// addon. A proxy started from JavaScript skips Node's TypeScript stripping,
// about 16 MB less RSS per process (bench/results/proxy.json). Launchers use
// dist/ only while it is newer than every source it was built from (see
// src/proxy/launch.ts); without TypeScript (an install without dev
// dependencies) nothing is built and proxies run from the TypeScript source.
// Imports of Node built-ins are then rewritten (see builtin-imports.ts).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, globSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { rewriteBuiltinImports } from './builtin-imports.ts';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  process.stdout.write('strait: TypeScript is not installed; proxies will run from the TypeScript source\n');
  process.exit(0);
}

const startedAt = Date.now();
rmSync(dist, { recursive: true, force: true });
// --noCheck: emit only (type checking is `npm run typecheck`'s job).
const result = spawnSync(
  process.execPath,
  [
    tsc,
    '--noCheck',
    '--outDir',
    dist,
    '--rootDir',
    join(root, 'src'),
    '--target',
    'es2024',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--rewriteRelativeImportExtensions',
    '--allowImportingTsExtensions',
    '--verbatimModuleSyntax',
    '--resolveJsonModule',
    '--skipLibCheck',
    '--types',
    'node',
    join(root, 'src', 'cmd', 'proxy.ts'),
    join(root, 'src', 'cmd', 'gateway.ts'),
  ],
  { stdio: 'inherit' },
);
if (result.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.stderr.write(
    `strait: compiling the proxy failed (status ${result.status}); proxies will run from the TypeScript source\n`,
  );
  process.exit(0);
}
const compiled = globSync('**/*.js', { cwd: dist });
try {
  for (const file of compiled) {
    const path = join(dist, file);
    writeFileSync(path, rewriteBuiltinImports(readFileSync(path, 'utf8')));
  }
} catch (error) {
  rmSync(dist, { recursive: true, force: true });
  process.stderr.write(`strait: ${(error as Error).message}; proxies will run from the TypeScript source\n`);
  process.exit(0);
}
// Generated protobuf code is JavaScript already and imported relatively.
cpSync(join(root, 'src', 'gen'), join(dist, 'gen'), { recursive: true });
const sources = compiled
  .map((file) => join('src', file.replace(/\.js$/, '.ts')))
  .filter((file) => existsSync(join(root, file)));
// A source changed after the build started makes the build stale.
writeFileSync(join(dist, 'manifest.json'), `${JSON.stringify({ builtAt: startedAt, sources }, null, 2)}\n`);
process.stdout.write(`strait: compiled the proxy (${sources.length} files) to ${relative(root, dist)}/\n`);

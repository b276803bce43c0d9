import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { dataPlaneEntry, dataPlaneEntryFiles } from './launch.ts';

function packageWithBuild(): { dir: string; root: URL; source: string; compiled: string } {
  const dir = mkdtempSync(join(tmpdir(), 'strait-launch-'));
  mkdirSync(join(dir, 'src', 'cmd'), { recursive: true });
  mkdirSync(join(dir, 'dist', 'cmd'), { recursive: true });
  const source = join(dir, 'src', 'cmd', 'proxy.ts');
  const compiled = join(dir, 'dist', 'cmd', 'proxy.js');
  writeFileSync(source, 'export {};\n');
  writeFileSync(compiled, 'export {};\n');
  const past = new Date(Date.now() - 60_000);
  utimesSync(source, past, past);
  writeFileSync(
    join(dir, 'dist', 'manifest.json'),
    JSON.stringify({ builtAt: Date.now() - 30_000, sources: ['src/cmd/proxy.ts'] }),
  );
  return { dir, root: pathToFileURL(`${dir}/`), source, compiled };
}

describe('dataPlaneEntry', () => {
  it('runs the compiled build while it is newer than its sources', () => {
    const { root, compiled } = packageWithBuild();
    assert.equal(dataPlaneEntry('proxy', root), compiled);
  });

  it('falls back to the TypeScript source once a source changed after the build', () => {
    const { root, source } = packageWithBuild();
    writeFileSync(source, 'export const edited = true;\n');
    assert.equal(dataPlaneEntry('proxy', root), source);
  });

  it('falls back to the TypeScript source without a build', () => {
    const { dir, root, source } = packageWithBuild();
    writeFileSync(join(dir, 'dist', 'manifest.json'), 'not json');
    assert.equal(dataPlaneEntry('proxy', root), source);
    assert.equal(dataPlaneEntry('gateway', root), join(dir, 'src', 'cmd', 'gateway.ts'));
  });
});

describe('dataPlaneEntryFiles', () => {
  it('names the source and the compiled file, whichever runs', () => {
    const { root, source, compiled } = packageWithBuild();
    assert.deepEqual(dataPlaneEntryFiles('proxy', root), { source, compiled });
    assert.equal(dataPlaneEntry('proxy', root), compiled);
  });
});

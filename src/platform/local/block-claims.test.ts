import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const CLAIMS_MODULE = new URL('./block-claims.ts', import.meta.url).href;

/** Claims `index` for `dir` in a separate process whose temp directory is `tmp`; resolves whether it got it. */
function claimInProcess(tmp: string, index: number, dir: string): Promise<boolean> {
  const script = `import(${JSON.stringify(CLAIMS_MODULE)}).then((m) => process.stdout.write(String(m.claimBlock(${index}, ${JSON.stringify(dir)}))))`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out === 'true') : reject(new Error(`exit ${code}`))));
  });
}

describe('loopback block claims', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'strait-claims-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const clusterDir = (name: string) => {
    const dir = join(tmp, 'clusters', name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  it('gives a block to exactly one of many clusters claiming it at once', async () => {
    const dirs = Array.from({ length: 8 }, (_, n) => clusterDir(`race-${n}`));
    const results = await Promise.all(dirs.map((dir) => claimInProcess(tmp, 3, dir)));
    assert.equal(results.filter(Boolean).length, 1, `winners: ${results}`);
    const winner = dirs[results.indexOf(true)] as string;
    assert.equal(await claimInProcess(tmp, 3, winner), true, 'the holder claims its block again');
  });

  it('takes over a stale claim for exactly one cluster', async () => {
    const gone = clusterDir('gone');
    assert.equal(await claimInProcess(tmp, 4, gone), true);
    rmSync(gone, { recursive: true });
    const dirs = Array.from({ length: 6 }, (_, n) => clusterDir(`stale-${n}`));
    const results = await Promise.all(dirs.map((dir) => claimInProcess(tmp, 4, dir)));
    assert.equal(results.filter(Boolean).length, 1, `winners: ${results}`);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tokenFromFile } from './token-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'strait-token-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('tokenFromFile()', () => {
  it('reads the file again on every call, without surrounding whitespace', async () => {
    const path = join(dir, 'token');
    const read = tokenFromFile(path);
    writeFileSync(path, 'first\n');
    assert.equal(new TextDecoder().decode(await read()), 'first');
    writeFileSync(path, 'second');
    assert.equal(new TextDecoder().decode(await read()), 'second');
  });

  it('names the file when it is missing or empty', async () => {
    await assert.rejects(tokenFromFile(join(dir, 'missing'))(), (error: Error & { code?: string }) => {
      return (
        error.code === 'E_TOKEN_FILE' && error.message.includes('missing') && error.message.includes('ENOENT')
      );
    });
    writeFileSync(join(dir, 'empty'), '\n');
    await assert.rejects(tokenFromFile(join(dir, 'empty'))(), /empty/);
  });
});

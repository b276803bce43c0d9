import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { threadsNamed } from './process-threads.ts';

describe('threadsNamed', { skip: process.platform === 'linux' ? false : 'reads /proc' }, () => {
  it("finds this process's threads by name, and none for a name no thread has", () => {
    const main = threadsNamed(readFileSync('/proc/self/comm', 'utf8').trim());
    assert.ok(main.includes(process.pid), `ids ${main}`);
    assert.deepEqual(threadsNamed('no-such-thread'), []);
  });

  it('reads the process given by its pid', () => {
    assert.ok(threadsNamed('V8Worker', process.pid).length > 0);
  });
});

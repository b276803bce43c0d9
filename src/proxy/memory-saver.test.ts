import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processCpuMs } from './cpu-time.ts';
import { memorySaverOnceInUse } from './memory-saver.ts';

/** Keeps this thread busy for `ms` of CPU time. */
function burn(ms: number): void {
  const until = processCpuMs() + ms;
  while (processCpuMs() < until) {}
}

describe('memorySaverOnceInUse', () => {
  it('switches once the CPU time used since the call reaches the threshold, and not before', async () => {
    const switches: number[] = [];
    memorySaverOnceInUse(50, (cpuMs) => switches.push(cpuMs));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(switches.length, 0, 'switched before the threshold');
    burn(60);
    for (let waited = 0; switches.length === 0 && waited < 3000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(switches.length, 1);
    assert.ok((switches[0] as number) >= 50, `switched at ${switches[0]} ms`);
  });

  it('never switches for 0', async () => {
    let switched = false;
    memorySaverOnceInUse(0, () => {
      switched = true;
    });
    burn(20);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(switched, false);
  });
});

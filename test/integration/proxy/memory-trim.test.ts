import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryTrimAvailable } from '../../../src/proxy/memory-trim.ts';
import { runProcess } from '../../fixtures/process.ts';

const FREED_HEAP = new URL('./fixtures/freed-heap.ts', import.meta.url).pathname;

interface Report {
  trimming: boolean;
  allocatedKb: number;
  afterKb: number;
}

async function freedHeap(intervalMs: number): Promise<Report> {
  const result = await runProcess(process.execPath, ['--expose-gc', FREED_HEAP, String(intervalMs)]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Report;
}

describe('memory trimming', {
  skip: memoryTrimAvailable() ? false : 'the malloc_trim addon is not built',
}, () => {
  // The fixture frees 31 of every 32 16-KiB blocks of 32 MiB: free memory in the
  // middle of the heap, which glibc keeps resident unless the heap is trimmed.
  it('gives freed memory in the middle of the heap back to the kernel', async () => {
    const kept = await freedHeap(0);
    const trimmed = await freedHeap(100);
    assert.equal(kept.trimming, false);
    assert.equal(trimmed.trimming, true);
    assert.ok(kept.allocatedKb - kept.afterKb < 8 * 1024, `without trimming: ${JSON.stringify(kept)}`);
    assert.ok(trimmed.allocatedKb - trimmed.afterKb > 24 * 1024, `with trimming: ${JSON.stringify(trimmed)}`);
  });
});

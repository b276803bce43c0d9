import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pollForChange } from './poll.ts';

describe('pollForChange', () => {
  it('offers a refused change again until it is accepted, then reports it once', async () => {
    const offered: string[] = [];
    const errors: unknown[] = [];
    let refusals = 2;
    await new Promise<void>((resolve) => {
      const watch = pollForChange(
        async () => 'new',
        'old',
        (a, b) => a === b,
        (next) => {
          offered.push(next);
          if (refusals-- > 0) throw new Error('not yet');
          // Later polls read the same value: nothing more is offered.
          setTimeout(() => {
            watch.stop();
            resolve();
          }, 100);
        },
        { intervalMs: 10, onError: (error) => errors.push(error) },
      );
    });
    assert.deepEqual(offered, ['new', 'new', 'new']);
    assert.equal(errors.length, 2);
  });

  it('reports read failures and keeps polling', async () => {
    let reads = 0;
    const errors: unknown[] = [];
    const seen = await new Promise<number>((resolve) => {
      const watch = pollForChange(
        async () => {
          reads++;
          if (reads < 3) throw new Error('unreadable');
          return reads;
        },
        0,
        (a, b) => a === b,
        (next) => {
          watch.stop();
          resolve(next);
        },
        { intervalMs: 10, onError: (error) => errors.push(error) },
      );
    });
    assert.equal(seen, 3);
    assert.equal(errors.length, 2);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Http1Sweeper, Http1Timeouts } from './timeouts.ts';

describe('HTTP/1 connection timeouts', () => {
  it('expires an incomplete head after the head ticks, counted from the first sweep that sees it', () => {
    const t = new Http1Timeouts();
    t.headIncomplete();
    assert.equal(t.check(5, 3, 0, false), undefined);
    assert.equal(t.check(7, 3, 0, false), undefined);
    assert.equal(t.check(8, 3, 0, false), 'head');
  });

  it('expires an idle connection, but not one that moved bytes, is busy or is partway through a head', () => {
    const t = new Http1Timeouts();
    assert.equal(t.check(1, 10, 2, false), undefined);
    assert.equal(t.check(2, 10, 2, false), undefined);
    t.active = true;
    assert.equal(t.check(3, 10, 2, false), undefined);
    assert.equal(t.check(4, 10, 2, true), undefined);
    assert.equal(t.check(5, 10, 2, false), undefined);
    t.headIncomplete();
    assert.equal(t.check(7, 10, 2, false), undefined, 'a slow head is left to the head timeout');
    t.headComplete();
    assert.equal(t.check(8, 10, 2, false), 'idle');
    assert.equal(new Http1Timeouts().check(100, 10, 0, false), undefined, 'idle ticks 0: never');
  });

  it('sweeps its connections about once a second while it has any', async () => {
    const swept: Array<[number, number, number]> = [];
    const connection = {
      sweep: (tick: number, head: number, idle: number) => swept.push([tick, head, idle]),
    };
    const sweeper = new Http1Sweeper<typeof connection>(10_000, 2500);
    sweeper.add(connection);
    assert.deepEqual([...sweeper.connections], [connection]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    sweeper.delete(connection);
    assert.deepEqual(swept, [[1, 10, 3]]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(swept.length, 1, 'swept after the last connection left');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capShift, normalise, sameWeights, spread } from './weights.ts';

describe('failover weights', () => {
  it('spreads a total evenly in whole numbers', () => {
    assert.deepEqual(spread(100, ['a', 'b', 'c']), { a: 34, b: 33, c: 33 });
    assert.deepEqual(spread(100, []), {});
  });

  it('normalises any weights to a total of 100', () => {
    assert.deepEqual(normalise({ a: 1, b: 0 }, ['a', 'b']), { a: 100, b: 0 });
    assert.deepEqual(normalise({ a: 1, b: 1, c: 1 }, ['a', 'b', 'c']), { a: 34, b: 33, c: 33 });
    assert.deepEqual(normalise({ a: 0, b: 0 }, ['a', 'b']), { a: 0, b: 0 });
    assert.deepEqual(normalise({ a: -5, b: 3 }, ['a', 'b']), { a: 0, b: 100 });
  });

  it('compares weights over the named backends', () => {
    assert.ok(sameWeights({ a: 100 }, { a: 100, b: 0 }, ['a', 'b']));
    assert.ok(!sameWeights({ a: 90, b: 10 }, { a: 100, b: 0 }, ['a', 'b']));
  });

  it('caps the gain of a degrading backend and gives the rest to an absorber', () => {
    const result = capShift({ a: 100, b: 0 }, { a: 0, b: 100 }, new Set(['b']), 25, ['a']);
    assert.deepEqual(result, { weights: { a: 75, b: 25 }, capped: true });
  });

  it('leaves the target alone when nothing can absorb the excess', () => {
    const result = capShift({ a: 100, b: 0 }, { a: 0, b: 100 }, new Set(['b']), 25, []);
    assert.deepEqual(result, { weights: { a: 0, b: 100 }, capped: false });
  });

  it('does not cap a degrading backend that loses weight', () => {
    const result = capShift({ a: 0, b: 100 }, { a: 50, b: 50 }, new Set(['b']), 10, ['a']);
    assert.deepEqual(result, { weights: { a: 50, b: 50 }, capped: false });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refreshDelayMs } from './client.ts';

const HOUR = 3_600_000;

describe('refreshDelayMs()', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('refreshes at 70% of the remaining lifetime', () => {
    assert.equal(refreshDelayMs(new Date(now + 24 * HOUR), now), 0.7 * 24 * HOUR);
  });
  it('waits at least 10 s and at most 24 h by default', () => {
    assert.equal(refreshDelayMs(new Date(now + 1_000), now), 10_000);
    assert.equal(refreshDelayMs(new Date(now - HOUR), now), 10_000);
    assert.equal(refreshDelayMs(new Date(now + 365 * 24 * HOUR), now), 24 * HOUR);
  });
  it('takes other bounds and fractions', () => {
    assert.equal(
      refreshDelayMs(new Date(now + 10_000), now, { refreshFraction: 0.5, minRefreshMs: 100 }),
      5_000,
    );
  });
});

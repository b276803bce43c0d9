import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAge, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it('reads Go-style durations', () => {
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('87600h'), 87_600 * 3_600_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5s'), 1500);
  });

  it('names the input when it is not a duration', () => {
    assert.throws(() => parseDuration('3', '--valid-for'), /--valid-for: "3" has no unit/);
    assert.throws(() => parseDuration('soon', '--valid-for'), /--valid-for: "soon" is not a duration/);
    assert.throws(() => parseDuration('5h junk'), /is not a duration/);
    assert.throws(() => parseDuration(''), /is not a duration/);
  });
});

describe('formatAge', () => {
  it('prints ages like kubectl', () => {
    assert.equal(formatAge(45_000), '45s');
    assert.equal(formatAge(5 * 60_000), '5m');
    assert.equal(formatAge(5 * 3_600_000), '5h');
    assert.equal(formatAge(72 * 3_600_000), '3d');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSelector, matchesSelector, parseSelector } from './selector.ts';

describe('label selectors', () => {
  it('parses every operator kubectl accepts', () => {
    assert.deepEqual(parseSelector('a=b, c!=d,e in (x, y),f notin (z),g,!h,i==j'), [
      { key: 'a', operator: 'In', values: ['b'] },
      { key: 'c', operator: 'NotIn', values: ['d'] },
      { key: 'e', operator: 'In', values: ['x', 'y'] },
      { key: 'f', operator: 'NotIn', values: ['z'] },
      { key: 'g', operator: 'Exists' },
      { key: 'h', operator: 'DoesNotExist' },
      { key: 'i', operator: 'In', values: ['j'] },
    ]);
    assert.deepEqual(parseSelector(''), []);
  });

  it('matches string and structured selectors', () => {
    const labels = { 'mirror.strait.io/exported': 'true', app: 'web' };
    assert.equal(matchesSelector('mirror.strait.io/exported=true', labels), true);
    assert.equal(matchesSelector('mirror.strait.io/exported=true,app!=web', labels), false);
    assert.equal(matchesSelector({ matchLabels: { app: 'web' } }, labels), true);
    assert.equal(
      matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels),
      true,
    );
    assert.equal(matchesSelector(undefined, undefined), true);
    assert.equal(matchesSelector('app', undefined), false);
  });

  it('round-trips through the string form', () => {
    const text = 'a=b,c!=d,e in (x,y),g,!h';
    assert.equal(formatSelector(text), text);
  });

  it('rejects malformed selectors with the offending part', () => {
    assert.throws(() => parseSelector('a=b,=c'), /"=c" has an invalid key/);
    assert.throws(() => parseSelector('bad key!=x y'), /E_SELECTOR|not a requirement/);
    assert.throws(() => parseSelector('a in (b c)'), /is not a requirement/);
  });
});

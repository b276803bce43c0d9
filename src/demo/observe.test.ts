import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCounts } from './observe.ts';

describe('formatCounts', () => {
  it('shows each cluster’s answers, the errors and the success rate per protocol', () => {
    assert.equal(
      formatCounts({ http: { east: 18, west: 21, error: 1 }, grpc: {} }),
      'http    40 calls: west 21, east 18; errors 1; success 97.5%\n' +
        'grpc     0 calls: none; errors 0; success -',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frame, unframe } from './grpc.ts';

describe('demo gRPC framing', () => {
  it('frames a message with a 5-byte prefix and reads it back', () => {
    const framed = frame({ cluster: 'east' });
    assert.equal(framed[0], 0);
    assert.equal(framed.readUInt32BE(1), framed.length - 5);
    assert.deepEqual(unframe(framed), { cluster: 'east' });
  });

  it('refuses compressed, short and cut-off bodies', () => {
    const framed = frame({ a: 1 });
    assert.throws(() => unframe(Buffer.concat([Buffer.from([1]), framed.subarray(1)])), /uncompressed/);
    assert.throws(() => unframe(Buffer.alloc(3)), /not an uncompressed gRPC message/);
    assert.throws(() => unframe(framed.subarray(0, framed.length - 1)), /cut short/);
  });
});

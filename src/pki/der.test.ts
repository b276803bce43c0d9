import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  children,
  DerError,
  oid,
  readOid,
  readRoot,
  sequence,
  smallInteger,
  time,
  unsignedInteger,
} from './der.ts';
import { createAnchor } from './index.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('DER encoding', () => {
  it('writes integers as positive, minimal two-complement', () => {
    assert.equal(hex(smallInteger(0)), '020100');
    assert.equal(hex(smallInteger(127)), '02017f');
    assert.equal(hex(smallInteger(128)), '02020080');
    assert.equal(hex(unsignedInteger(Uint8Array.of(0, 0, 1))), '020101');
  });

  it('round-trips object identifiers, including multi-byte arcs', () => {
    for (const dotted of ['2.5.29.17', '1.2.840.10045.4.3.2', '1.3.6.1.5.5.7.3.1', '1.2.840.113549.1.9.14']) {
      const encoded = oid(dotted);
      assert.equal(readOid(encoded, readRoot(encoded)), dotted);
    }
    assert.equal(hex(oid('1.2.840.10045.2.1')), '06072a8648ce3d0201');
  });

  it('uses UTCTime before 2050 and GeneralizedTime from 2050', () => {
    assert.equal(
      Buffer.from(time(new Date('2049-12-31T23:59:59Z')))
        .subarray(2)
        .toString(),
      '491231235959Z',
    );
    assert.equal(
      Buffer.from(time(new Date('2050-01-01T00:00:00Z')))
        .subarray(2)
        .toString(),
      '20500101000000Z',
    );
    const longLived = new X509Certificate(createAnchor({ validForMs: 40 * 8760 * 3_600_000 }).certPem);
    assert.ok(longLived.validToDate.getUTCFullYear() >= 2060);
  });

  it('lengths over 127 bytes use the long form and read back', () => {
    const long = sequence(new Uint8Array(300).fill(4));
    assert.equal(hex(long.subarray(0, 4)), '3082012c');
    const nested = sequence(long, smallInteger(5));
    assert.equal(children(nested, readRoot(nested)).length, 2);
  });

  it('refuses truncated and trailing input', () => {
    assert.throws(() => readRoot(Uint8Array.of(0x30, 0x05, 0x02)), DerError);
    assert.throws(() => readRoot(Uint8Array.of(0x02, 0x01, 0x00, 0xff)), DerError);
    assert.throws(() => readRoot(Uint8Array.of(0x30, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1)), DerError);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { HeaderSchema } from '../../gen/strait/transport/v1/header_pb.js';
import { encodeTransportHeader, parseTransportHeader, TransportHeaderError } from './header.ts';

describe('transport header', () => {
  it('round-trips every field', () => {
    const bytes = encodeTransportHeader({
      port: 8080,
      name: 'backend.shop.svc.cluster.local',
      protocol: 'http2',
      clientIdentity: 'web.shop.serviceaccount.identity.strait.cluster.local',
    });
    const parsed = parseTransportHeader(Buffer.concat([bytes, Buffer.from('rest')]));
    assert.deepEqual(parsed?.header, {
      port: 8080,
      name: 'backend.shop.svc.cluster.local',
      protocol: 'http2',
      clientIdentity: 'web.shop.serviceaccount.identity.strait.cluster.local',
    });
    assert.equal(parsed?.consumed, bytes.length);
  });

  it('writes and reads exactly the generated protobuf encoding, skipping unknown fields', () => {
    for (const protocol of ['http1', 'http2', 'opaque', 'http1Upgraded'] as const) {
      const header = { port: 65535, name: 'a.b', protocol, clientIdentity: 'x.y' };
      const ours = encodeTransportHeader(header);
      const generated = toBinary(
        HeaderSchema,
        create(HeaderSchema, {
          port: 65535,
          name: 'a.b',
          clientIdentity: 'x.y',
          sessionProtocol: { kind: { case: protocol, value: {} } },
        }),
      );
      assert.equal(ours.readUInt32BE(26), generated.length);
      assert.deepEqual(new Uint8Array(ours.subarray(30)), generated);
      assert.equal(fromBinary(HeaderSchema, generated).sessionProtocol?.kind.case, protocol);
      // Unknown fields of every wire type before the known ones are skipped.
      const unknown = Buffer.from([
        0x28, 0x01, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 0x3a, 0x01, 0x00, 0x45, 1, 2, 3, 4,
      ]);
      const framed = Buffer.concat([
        Buffer.from('transport.strait.io/v1\r\n\r\n'),
        Buffer.alloc(4),
        unknown,
        generated,
      ]);
      framed.writeUInt32BE(unknown.length + generated.length, 26);
      assert.deepEqual(parseTransportHeader(framed)?.header, header);
    }
  });

  it('asks for more bytes on every strict prefix', () => {
    const bytes = encodeTransportHeader({ port: 80, name: '', protocol: 'opaque' });
    for (let n = 0; n < bytes.length; n++)
      assert.equal(parseTransportHeader(bytes.subarray(0, n)), undefined);
  });

  it('rejects a wrong preface at the first wrong byte', () => {
    assert.throws(() => parseTransportHeader(Buffer.from('GET / HTTP/1.1')), /bad preface/);
    assert.throws(() => parseTransportHeader(Buffer.from('transport.strait.io/v2')), TransportHeaderError);
  });

  it('rejects oversized lengths, bad ports, bad names and missing protocols', () => {
    const preface = Buffer.from('transport.strait.io/v1\r\n\r\n');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(1 << 20);
    assert.throws(() => parseTransportHeader(Buffer.concat([preface, length])), /length/);
    assert.throws(() => encodeTransportHeader({ port: 0, name: '', protocol: 'http1' }), /port 0/);
    assert.throws(
      () => encodeTransportHeader({ port: 1, name: 'UPPER CASE', protocol: 'http1' }),
      /not a DNS name/,
    );
    // A body with only a port (field 1 = 80) and no session protocol.
    const body = Buffer.from([0x08, 0x50]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    assert.throws(() => parseTransportHeader(Buffer.concat([preface, len, body])), /no session protocol/);
  });

  it('never throws anything but TransportHeaderError on random input (fuzz)', () => {
    const preface = Buffer.from('transport.strait.io/v1\r\n\r\n');
    for (let i = 0; i < 5000; i++) {
      const body = randomBytes(i % 64);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(i % 3 === 0 ? body.length : (i * 7919) % 70000);
      const input = i % 5 === 0 ? randomBytes(i % 50) : Buffer.concat([preface, len, body]);
      try {
        const result = parseTransportHeader(input);
        if (result) {
          assert.ok(result.header.port >= 1 && result.header.port <= 65535);
          assert.ok(result.consumed <= input.length);
        }
      } catch (error) {
        assert.ok(error instanceof TransportHeaderError, `unexpected ${error}`);
      }
    }
  });
});

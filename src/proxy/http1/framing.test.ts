import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Http1Error } from './error.ts';
import { BodyFramer, MAX_CHUNK_METADATA_BYTES, requestFraming, responseFraming } from './framing.ts';
import { findHeadEnd, parseRequestHead, parseResponseHead } from './head.ts';

const requestHead = (fields: string) => {
  const buf = Buffer.from(`POST / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`);
  return parseRequestHead(buf, 0, findHeadEnd(buf, 0));
};
const responseHead = (fields: string) => {
  const buf = Buffer.from(`HTTP/1.1 200 OK\r\n${fields}\r\n`);
  return parseResponseHead(buf, 0, findHeadEnd(buf, 0));
};
const isCode = (code: string) => (error: unknown) => error instanceof Http1Error && error.code === code;

/** Feeds `body` to a chunked framer in pieces of `size`; returns the offset where the body ended. */
function scan(body: Buffer, size: number): number {
  const framer = new BodyFramer();
  framer.start('chunked');
  for (let pos = 0; pos < body.length; pos += size) {
    const end = Math.min(pos + size, body.length);
    const stop = framer.advance(body, pos, end);
    if (framer.done) return stop;
    assert.equal(stop, end, 'an unfinished body takes every byte');
  }
  return -1;
}

describe('HTTP/1 message framing', () => {
  it('frames requests by Transfer-Encoding or Content-Length', () => {
    assert.equal(requestFraming(requestHead('Transfer-Encoding: chunked\r\n')), 'chunked');
    assert.equal(requestFraming(requestHead('Transfer-Encoding: gzip, chunked\r\n')), 'chunked');
    assert.equal(requestFraming(requestHead('Content-Length: 4\r\n')), 'length');
    assert.equal(requestFraming(requestHead('Content-Length: 0\r\n')), 'none');
    assert.equal(requestFraming(requestHead('')), 'none');
  });

  it('refuses requests with both framings, a final coding other than chunked, or chunked twice', () => {
    const refused = (fields: string) =>
      assert.throws(() => requestFraming(requestHead(fields)), isCode('E_HTTP1_TRANSFER_ENCODING'), fields);
    refused('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n');
    refused('Transfer-Encoding: gzip\r\n');
    refused('Transfer-Encoding: chunked, gzip\r\n');
    refused('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n');
    const old = Buffer.from('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n');
    assert.throws(
      () => requestFraming(parseRequestHead(old, 0, old.length)),
      isCode('E_HTTP1_TRANSFER_ENCODING'),
    );
  });

  it('frames responses by method and status, and reads until close without a length', () => {
    assert.equal(responseFraming(responseHead('Content-Length: 9\r\n'), 200, 'HEAD'), 'none');
    assert.equal(responseFraming(responseHead('Content-Length: 9\r\n'), 304, 'GET'), 'none');
    assert.equal(responseFraming(responseHead(''), 204, 'GET'), 'none');
    assert.equal(responseFraming(responseHead(''), 200, 'CONNECT'), 'none');
    assert.equal(responseFraming(responseHead(''), 200, 'GET'), 'close');
    assert.equal(responseFraming(responseHead('Transfer-Encoding: gzip\r\n'), 200, 'GET'), 'close');
    assert.equal(
      responseFraming(responseHead('Transfer-Encoding: chunked\r\nContent-Length: 3\r\n'), 200, 'GET'),
      'chunked',
    );
    assert.equal(responseFraming(responseHead('Content-Length: 3\r\n'), 200, 'GET'), 'length');
  });

  it('finds the end of a Content-Length body across reads', () => {
    const framer = new BodyFramer();
    framer.start('length', 5);
    const buf = Buffer.from('abcdefgh');
    assert.equal(framer.advance(buf, 0, 3), 3);
    assert.equal(framer.done, false);
    assert.equal(framer.advance(buf, 3, 8), 5);
    assert.equal(framer.done, true);
  });

  it('finds the end of a chunked body with extensions and trailers, however it is split', () => {
    const body = Buffer.from(
      '5;name="v 1"\r\nhello\r\nA ; x=y\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\nGET /next',
    );
    const end = body.indexOf('GET /next');
    for (let size = 1; size <= body.length; size++) assert.equal(scan(body, size), end, `pieces of ${size}`);
    assert.equal(scan(Buffer.from('0\r\n\r\n'), 2), 5);
  });

  it('hands on the content of a body without its chunked framing, however it is split', () => {
    const body = Buffer.from('5;ext\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Sum: 1\r\n\r\n');
    for (let size = 1; size <= body.length; size++) {
      const parts: Buffer[] = [];
      const framer = new BodyFramer({ onData: (data) => parts.push(Buffer.from(data)) });
      framer.start('chunked');
      for (let pos = 0; pos < body.length; pos += size)
        framer.advance(body, pos, Math.min(pos + size, body.length));
      assert.ok(framer.done);
      assert.equal(Buffer.concat(parts).toString(), 'hello world', `pieces of ${size}`);
    }
    const parts: Buffer[] = [];
    const framer = new BodyFramer({ onData: (data) => parts.push(data) });
    framer.start('length', 4);
    assert.equal(framer.advance(Buffer.from('abcdef'), 0, 6), 4);
    assert.equal(Buffer.concat(parts).toString(), 'abcd');
  });

  it('refuses malformed chunked bodies, naming the fault', () => {
    const refused = (text: string, pattern: RegExp) =>
      assert.throws(
        () => scan(Buffer.from(text, 'latin1'), 3),
        (error: unknown) => isCode('E_HTTP1_CHUNK')(error) && pattern.test((error as Error).message),
        JSON.stringify(text),
      );
    refused('x\r\n', /not a hex digit/);
    refused('\r\n', /not a hex digit/);
    refused('5 \r\nhello\r\n0\r\n\r\n', /whitespace/);
    refused('5\nhello\r\n0\r\n\r\n', /has byte 0x0a/);
    refused('5\rhello\r\n0\r\n\r\n', /CR that is not followed by LF/);
    refused('3\r\nhello\r\n0\r\n\r\n', /longer than its size/);
    refused('5\r\nhello\r0\r\n\r\n', /not followed by CRLF/);
    refused(`${'f'.repeat(13)}\r\n`, /too large/);
    refused('5;a\x01\r\nhello\r\n', /control character/);
    refused('0\r\nX-A: 1\r\n continued\r\n\r\n', /obs-fold/);
    refused('0\r\nX-A: \x00\r\n\r\n', /control character/);
    refused('0\r\nX-A\r\n\r\n', /no colon/);
    refused('0\r\n\r\r', /not followed by LF/);
    refused(`1;${'a'.repeat(MAX_CHUNK_METADATA_BYTES)}\r\n`, /exceed/);
  });

  it('refuses the trailer fields it is told to, whatever their case', () => {
    const framer = new BodyFramer({ refusedTrailers: ['strait-client-id'] });
    framer.start('chunked');
    const body = Buffer.from('1\r\na\r\n0\r\nX-Fine: 1\r\nStrait-Client-ID: forged\r\n\r\n');
    assert.throws(
      () => framer.advance(body, 0, body.length),
      (error: unknown) =>
        isCode('E_HTTP1_CHUNK')(error) && /strait-client-id is not allowed/.test((error as Error).message),
    );
    framer.start('chunked');
    const fine = Buffer.from('0\r\nstrait-client-idx: 1\r\n\r\n');
    assert.equal(framer.advance(fine, 0, fine.length), fine.length);
  });

  it('never throws anything but Http1Error for random chunked input', () => {
    let seed = 0xc4c4;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    const alphabet = Buffer.from('0123456789abcdefABCDEFxX;= \t\r\n:\x00\x7f\xff');
    for (let n = 0; n < 5000; n++) {
      const buf = Buffer.alloc(1 + Math.floor(random() * 64));
      for (let i = 0; i < buf.length; i++)
        buf[i] = alphabet[Math.floor(random() * alphabet.length)] as number;
      try {
        scan(buf, 1 + Math.floor(random() * 8));
      } catch (error) {
        if (!(error instanceof Http1Error)) throw error;
      }
    }
  });
});

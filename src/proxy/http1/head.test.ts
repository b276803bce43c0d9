import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Http1Error } from './error.ts';
import {
  findHeadEnd,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  skipEmptyLines,
} from './head.ts';

const DROP = ['strait-client-id', 'l5d-client-id'];

function request(text: string): RequestHead {
  const buf = Buffer.from(text, 'latin1');
  const end = findHeadEnd(buf, 0);
  assert.notEqual(end, -1, 'head is complete');
  return parseRequestHead(buf, 0, end, { drop: DROP });
}

function rejects(text: string, code: string): void {
  assert.throws(
    () => request(text),
    (error: unknown) => error instanceof Http1Error && error.code === code,
    `expected ${code} for ${JSON.stringify(text)}`,
  );
}

describe('HTTP/1 request heads', () => {
  it('reads the request line and the fields that decide framing', () => {
    const head = request(
      'POST /orders?id=7 HTTP/1.1\r\nHost: shop:8080\r\nContent-Length: 12\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.equal(head.method, 'POST');
    assert.equal(head.target, '/orders?id=7');
    assert.equal(head.minorVersion, 1);
    assert.equal(head.host, 'shop:8080');
    assert.equal(head.contentLength, 12);
    assert.equal(head.keepAlive, true);
    assert.equal(head.close, false);
    assert.equal(head.upgrade, true);
    assert.equal(head.transferEncoding, '');
  });

  it('lists the other fields Connection names, and reads a Connection field it drops', () => {
    const text = 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Hop, , Keep-Alive\r\n\r\n';
    const buf = Buffer.from(text, 'latin1');
    const head = parseRequestHead(buf, 0, findHeadEnd(buf, 0), { drop: ['connection'] });
    assert.deepEqual(head.connectionNames, ['x-hop']);
    assert.equal(head.close, true);
    assert.equal(head.keepAlive, true);
    assert.deepEqual(head.dropped, [25, text.length - 2]);
    assert.equal(
      request('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n').connectionNames,
      undefined,
    );
  });

  it('notes an Expect field that asks for 100-continue', () => {
    assert.equal(request('PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n').expectContinue, true);
    assert.equal(request('PUT / HTTP/1.1\r\nHost: a\r\nExpect: other\r\n\r\n').expectContinue, false);
    assert.equal(request('PUT / HTTP/1.1\r\nHost: a\r\n\r\n').expectContinue, false);
  });

  it('counts an Upgrade field only when Connection names it', () => {
    assert.equal(request('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n').upgrade, false);
  });

  it('reports the lines of dropped fields, whatever their case, relative to the head', () => {
    const text =
      'GET / HTTP/1.1\r\nStrait-Client-ID: forged\r\nHost: a\r\nl5d-client-id: x\r\nAccept: */*\r\n\r\n';
    const prefix = 'junk';
    const buf = Buffer.from(prefix + text);
    const end = findHeadEnd(buf, prefix.length);
    const head = parseRequestHead(buf, prefix.length, end, { drop: DROP });
    let kept = '';
    let from = 0;
    for (let k = 0; k < head.dropped.length; k += 2) {
      kept += text.slice(from, head.dropped[k]);
      from = head.dropped[k + 1] as number;
    }
    kept += text.slice(from);
    assert.equal(kept, 'GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n');
    assert.equal(head.length, text.length);
  });

  it('collects the fields it keeps as raw name/value pairs when asked', () => {
    const text = 'GET / HTTP/1.1\r\nHost:  a:80 \r\nl5d-client-id: x\r\nX-Empty:\r\nAccept: */*\r\n\r\n';
    const buf = Buffer.from(text, 'latin1');
    const end = findHeadEnd(buf, 0);
    assert.equal(parseRequestHead(buf, 0, end).rawHeaders, undefined);
    const head = parseRequestHead(buf, 0, end, { drop: DROP, rawHeaders: true });
    assert.deepEqual(head.rawHeaders, ['Host', 'a:80', 'X-Empty', '', 'Accept', '*/*']);
  });

  it('joins Transfer-Encoding fields, trims values and accepts equal Content-Length values', () => {
    const head = request(
      'PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\ntransfer-encoding:  Chunked  \r\n\r\n',
    );
    assert.equal(head.transferEncoding, 'gzip, chunked');
    assert.equal(request('PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n').contentLength, 5);
  });

  it('reads HTTP/1.0 without Host, and skips empty lines before the request line', () => {
    const buf = Buffer.from('\r\n\r\nGET / HTTP/1.0\r\nConnection: close\r\n\r\n');
    const start = skipEmptyLines(buf, 0, buf.length);
    assert.equal(start, 4);
    const head = parseRequestHead(buf, start, findHeadEnd(buf, start));
    assert.equal(head.minorVersion, 0);
    assert.equal(head.close, true);
    assert.equal(head.host, undefined);
  });

  it('waits for the blank line, and refuses heads over the limit or ending lines with a bare LF', () => {
    assert.equal(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n'), 0), -1);
    const limits = { maxHeadBytes: 64, maxHeaders: 10 };
    assert.throws(
      () => findHeadEnd(Buffer.from(`GET /${'a'.repeat(80)} HTTP/1.1\r\n`), 0, limits),
      (error: Http1Error) => error.code === 'E_HTTP1_HEAD_TOO_LARGE',
    );
    assert.throws(
      () => findHeadEnd(Buffer.from(`GET / HTTP/1.1\r\nHost: ${'a'.repeat(80)}\r\n\r\n`), 0, limits),
      (error: Http1Error) => error.code === 'E_HTTP1_HEAD_TOO_LARGE',
    );
    assert.throws(
      () => findHeadEnd(Buffer.from('GET / HTTP/1.1\nHost: a\n\n'), 0),
      (error: Http1Error) => error.code === 'E_HTTP1_LINE_END',
    );
  });

  it('refuses malformed request lines and versions', () => {
    rejects('GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 'E_HTTP1_REQUEST_LINE');
    rejects('GET /\r\nHost: a\r\n\r\n', 'E_HTTP1_REQUEST_LINE');
    rejects('G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 'E_HTTP1_REQUEST_LINE');
    rejects('GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 'E_HTTP1_REQUEST_LINE');
    rejects('GET / http/1.1\r\nHost: a\r\n\r\n', 'E_HTTP1_VERSION');
    rejects('GET / HTTP/2.0\r\nHost: a\r\n\r\n', 'E_HTTP1_VERSION');
    rejects('GET / HTTP/1.1 \r\nHost: a\r\n\r\n', 'E_HTTP1_REQUEST_LINE');
    rejects('GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n', 'E_HTTP1_REQUEST_LINE');
  });

  it('refuses obs-fold, bad field names, control characters and bare CR', () => {
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n', 'E_HTTP1_OBS_FOLD');
    rejects('GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'E_HTTP1_FIELD_NAME');
    rejects('GET / HTTP/1.1\r\nHost: a\r\nBad Header Without Colon\r\n\r\n', 'E_HTTP1_FIELD_NAME');
    rejects('GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n', 'E_HTTP1_FIELD_NAME');
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n', 'E_HTTP1_FIELD_VALUE');
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX-A: a\nb\r\n\r\n', 'E_HTTP1_FIELD_VALUE');
    rejects('GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n', 'E_HTTP1_LINE_END');
    rejects('GET / HTTP/1.1\rHost: a\r\n\r\n', 'E_HTTP1_LINE_END');
  });

  it('refuses bad and conflicting Content-Length, and missing or repeated Host', () => {
    rejects(
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n',
      'E_HTTP1_CONTENT_LENGTH',
    );
    rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n', 'E_HTTP1_CONTENT_LENGTH');
    rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n', 'E_HTTP1_CONTENT_LENGTH');
    rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n', 'E_HTTP1_CONTENT_LENGTH');
    rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n', 'E_HTTP1_CONTENT_LENGTH');
    rejects(
      `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${'9'.repeat(16)}\r\n\r\n`,
      'E_HTTP1_CONTENT_LENGTH',
    );
    rejects('GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', 'E_HTTP1_HOST');
    rejects('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'E_HTTP1_HOST');
  });

  it('refuses more fields than the limit', () => {
    const text = `GET / HTTP/1.1\r\nHost: a\r\n${'X-A: 1\r\n'.repeat(5)}\r\n`;
    const buf = Buffer.from(text);
    assert.throws(
      () => parseRequestHead(buf, 0, buf.length, { limits: { maxHeadBytes: 1024, maxHeaders: 5 } }),
      (error: Http1Error) => error.code === 'E_HTTP1_TOO_MANY_FIELDS',
    );
  });
});

describe('HTTP/1 response heads', () => {
  const response = (text: string) => {
    const buf = Buffer.from(text, 'latin1');
    return parseResponseHead(buf, 0, findHeadEnd(buf, 0));
  };

  it('reads the status, with or without a reason, and the framing fields', () => {
    const head = response('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ngrpc-status: 5\r\n\r\n');
    assert.equal(head.status, 200);
    assert.equal(head.transferEncoding, 'chunked');
    assert.equal(head.grpcStatus, '5');
    assert.equal(response('HTTP/1.0 404\r\nContent-Length: 0\r\n\r\n').status, 404);
    assert.equal(response('HTTP/1.1 100 Continue\r\n\r\n').status, 100);
  });

  it('refuses malformed status lines', () => {
    for (const line of [
      'HTTP/1.1 20 OK',
      'HTTP/1.1 2000 OK',
      'HTTP/1.1 abc OK',
      'HTTP/1.1  200 OK',
      'HTTP/1.1 099 x',
    ]) {
      assert.throws(
        () => response(`${line}\r\n\r\n`),
        (error: Http1Error) => error.code === 'E_HTTP1_STATUS_LINE',
        line,
      );
    }
    assert.throws(
      () => response('HTTP/3.0 200 OK\r\n\r\n'),
      (error: Http1Error) => error.code === 'E_HTTP1_VERSION',
    );
  });
});

describe('HTTP/1 head parsing under random input', () => {
  // A fixed seed keeps a failure reproducible.
  let seed = 0x5eed;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const valid = Buffer.from(
    'POST /a?b=c HTTP/1.1\r\nHost: shop\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nstrait-client-id: x\r\n\r\n',
  );
  const alphabet = Buffer.from('\r\n \t:;,0123456789aAzZ-/\x00\x7f\xff');

  const tryParse = (buf: Buffer) => {
    for (const parse of [parseRequestHead, parseResponseHead]) {
      try {
        const end = findHeadEnd(buf, skipEmptyLines(buf, 0, buf.length), {
          maxHeadBytes: 512,
          maxHeaders: 8,
        });
        if (end !== -1) parse(buf, skipEmptyLines(buf, 0, buf.length), end, { drop: DROP });
      } catch (error) {
        if (!(error instanceof Http1Error)) throw error;
      }
    }
  };

  it('never throws anything but Http1Error for random bytes', () => {
    for (let n = 0; n < 5000; n++) {
      const buf = Buffer.alloc(Math.floor(random() * 200));
      for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(random() * 256);
      // Most random heads never end: give half of them an ending.
      tryParse(random() < 0.5 ? Buffer.concat([buf, Buffer.from('\r\n\r\n')]) : buf);
    }
  });

  it('never throws anything but Http1Error for mutations of a valid head', () => {
    for (let n = 0; n < 8000; n++) {
      const buf = Buffer.from(valid);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        buf[Math.floor(random() * buf.length)] = alphabet[Math.floor(random() * alphabet.length)] as number;
      }
      tryParse(buf);
      tryParse(buf.subarray(0, Math.floor(random() * buf.length)));
    }
  });
});

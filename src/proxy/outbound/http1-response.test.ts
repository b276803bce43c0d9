import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ProxyError } from '../errors.ts';
import { ResponseParser } from './http1-response.ts';

interface Seen {
  status?: number;
  /** The head as it would go on: status line and fields, without the blank line. */
  head?: string;
  hasLength?: boolean;
  grpcStatus?: string;
  body: string;
  trailers?: string[];
  reusable?: boolean;
  ends: number;
}

function parser(): { parser: ResponseParser; seen: Seen } {
  const seen: Seen = { body: '', ends: 0 };
  const p = new ResponseParser({
    onResponseHead(head) {
      const { status, hasLength, grpcStatus } = head;
      Object.assign(seen, { status, hasLength, grpcStatus, head: head.lines.toString('latin1') });
    },
    onResponseBody(chunk) {
      seen.body += chunk.toString('latin1');
    },
    onResponseEnd(trailers, reusable) {
      seen.ends++;
      Object.assign(seen, { trailers, reusable });
    },
  });
  return { parser: p, seen };
}

/** Parses `text` fed in pieces of `step` bytes (every split point gets tried by the callers). */
function parse(text: string, options: { step?: number; head?: boolean; close?: boolean } = {}): Seen {
  const { parser: p, seen } = parser();
  p.expect(options.head ?? false);
  const bytes = Buffer.from(text, 'latin1');
  const step = options.step ?? bytes.length;
  for (let i = 0; i < bytes.length; i += step) p.execute(bytes.subarray(i, i + step));
  if (options.close) p.finish();
  return seen;
}

function rejects(text: string, pattern: RegExp): void {
  assert.throws(
    () => parse(text, { close: true }),
    (error: unknown) =>
      error instanceof ProxyError && error.code === 'E_UPSTREAM_RESPONSE' && pattern.test(error.message),
    `expected ${pattern} for ${JSON.stringify(text)}`,
  );
}

const CHUNKED =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n' +
  '5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nGrpc-Status: 0\r\n\r\n';

describe('the upstream HTTP/1 response parser', () => {
  it('reads a Content-Length body and keeps the connection', () => {
    const seen = parse(
      'HTTP/1.1 201 Created\r\nContent-Length: 5\r\nSet-Cookie: a\r\nset-cookie: b\r\n\r\nhello',
    );
    assert.equal(seen.status, 201);
    assert.equal(
      seen.head,
      'HTTP/1.1 201 Created\r\nContent-Length: 5\r\nSet-Cookie: a\r\nset-cookie: b\r\n',
    );
    assert.equal(seen.hasLength, true);
    assert.equal(seen.body, 'hello');
    assert.equal(seen.reusable, true);
    assert.equal(seen.ends, 1);
  });

  it('reads a chunked body with extensions and trailers, split at every byte', () => {
    for (let step = 1; step <= CHUNKED.length; step++) {
      const seen = parse(CHUNKED, { step });
      assert.equal(seen.head, 'HTTP/1.1 200 OK\r\nX-A: 1\r\n', `step ${step}`);
      assert.equal(seen.hasLength, false);
      assert.equal(seen.body, 'hello world!', `step ${step}`);
      assert.deepEqual(seen.trailers, ['Grpc-Status', '0'], `step ${step}`);
      assert.equal(seen.reusable, true);
      assert.equal(seen.ends, 1);
    }
  });

  it('skips 1xx heads and reads the final one', () => {
    const seen = parse(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    );
    assert.equal(seen.status, 200);
    assert.equal(seen.head, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n');
    assert.equal(seen.body, 'ok');
  });

  it('passes the head on without the fields of this connection', () => {
    const seen = parse(
      'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n' +
        'X-End: 2\r\nTrailer: grpc-status\r\nGrpc-Status: 0\r\nContent-Length: 2\r\n\r\nok',
    );
    assert.equal(seen.head, 'HTTP/1.1 200 OK\r\nX-End: 2\r\nGrpc-Status: 0\r\nContent-Length: 2\r\n');
    assert.equal(seen.grpcStatus, '0');
    assert.equal(seen.reusable, true);
  });

  it('drops a Content-Length that comes beside a Transfer-Encoding', () => {
    const seen = parse(
      'HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    );
    assert.equal(seen.head, 'HTTP/1.1 200 OK\r\n');
    assert.equal(seen.hasLength, false);
    assert.equal(seen.body, 'ok');
    assert.equal(seen.reusable, false);
  });

  it('speaks HTTP/1.1 on to the application and fills in a missing reason phrase', () => {
    assert.equal(
      parse('HTTP/1.0 200 Fine\r\nContent-Length: 0\r\n\r\n').head,
      'HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n',
    );
    assert.equal(parse('HTTP/1.1 204\r\nX: y\r\n\r\n').head, 'HTTP/1.1 204 No Content\r\nX: y\r\n');
    assert.equal(
      parse('HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n').head,
      'HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\n',
    );
  });

  it('reads no body for HEAD, 204 and 304 whatever the headers say', () => {
    assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', { head: true }).ends, 1);
    assert.equal(parse('HTTP/1.1 204 No Content\r\n\r\n').reusable, true);
    assert.equal(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').ends, 1);
    assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').reusable, true);
  });

  it('reads a body without framing until the connection closes, and never reuses it', () => {
    const { parser: p, seen } = parser();
    p.expect(false);
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nsome'));
    p.execute(Buffer.from(' more'));
    assert.equal(seen.ends, 0);
    p.finish();
    assert.equal(seen.body, 'some more');
    assert.equal(seen.reusable, false);
  });

  it('does not reuse a connection the server closes, an HTTP/1.0 one, or one with bytes after the response', () => {
    assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').reusable, false);
    assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').reusable, false);
    assert.equal(
      parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').reusable,
      true,
    );
    assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab').reusable, false);
    assert.equal(
      parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n').reusable,
      false,
    );
  });

  it('refuses malformed responses, naming what was wrong', () => {
    rejects('HTTP/2 200 OK\r\n\r\n', /status line/);
    rejects('HTTP/1.1 20 OK\r\n\r\n', /status line/);
    rejects('HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', /header line/);
    rejects('HTTP/1.1 200 OK\r\n folded\r\n\r\n', /obs-fold/);
    rejects('HTTP/1.1 200 OK\r\nA: b\nC: d\r\n\r\n', /"A" has a control character \(0x0a\)/);
    rejects('HTTP/1.1 200 OK\r\nA: b\x01c\r\n\r\n', /"A" has a control character \(0x01\)/);
    rejects(
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      /conflicting content-length/i,
    );
    rejects('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /invalid content-length/i);
    rejects(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n',
      /chunked is applied more than once/,
    );
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /chunk size/);
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n', /longer than its size/);
    rejects('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab', /LF alone/);
    rejects('HTTP/1.1 101 Switching Protocols\r\n\r\n', /101/);
    rejects(`HTTP/1.1 200 OK\r\nA: ${'x'.repeat(70_000)}\r\n\r\n`, /larger than/);
  });

  it('says when the connection closed before the response was complete', () => {
    assert.throws(
      () => parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc', { close: true }),
      (error: unknown) => error instanceof ProxyError && error.code === 'E_UPSTREAM_CLOSED',
    );
  });

  it('refuses bytes that arrive while no response is expected', () => {
    const { parser: p } = parser();
    assert.throws(() => p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), /no request was waiting/);
  });

  it('throws nothing but ProxyError for random bytes and mutated responses', () => {
    const valid = Buffer.from(CHUNKED, 'latin1');
    for (let i = 0; i < 3000; i++) {
      let input: Buffer;
      if (i % 2 === 0) input = randomBytes(1 + (i % 200));
      else {
        input = Buffer.from(valid);
        for (let m = 0; m < 1 + (i % 5); m++)
          input[(i * 7919 + m * 104729) % input.length] = randomBytes(1)[0] as number;
      }
      try {
        parse(input.toString('latin1'), { step: 1 + (i % 17), close: true });
      } catch (error) {
        assert.ok(error instanceof ProxyError, `threw ${String(error)}`);
      }
    }
  });
});

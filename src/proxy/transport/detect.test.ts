import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { readClientHelloSni } from './client-hello.ts';
import { classify, type DetectedProtocol } from './detect.ts';

describe('protocol detection', () => {
  const cases: Array<[string, DetectedProtocol]> = [
    ['GET / HTTP/1.1\r\n', 'http1'],
    ['POST /a/b?c=d HTTP/1.0\r\nHost: x\r\n\r\n', 'http1'],
    ['OPTIONS * HTTP/1.1\n', 'http1'],
    ['CONNECT example.com:443 HTTP/1.1\r\n', 'http1'],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'http2'],
    ['SSH-2.0-OpenSSH_9.2\r\n', 'opaque'],
    ['GET /\r\n', 'opaque'],
    ['GET / HTTP/2.0\r\n', 'opaque'],
    ['*3\r\n$3\r\nSET\r\n', 'opaque'],
    ['\x00\x00\x00\x08\x04\xd2\x16\x2f', 'opaque'],
  ];
  for (const [input, expected] of cases) {
    it(`classifies ${JSON.stringify(input.slice(0, 24))} as ${expected}`, () => {
      assert.equal(classify(Buffer.from(input, 'latin1')), expected);
    });
  }

  it('waits on prefixes that could still be HTTP', () => {
    for (const prefix of ['G', 'GET', 'GET /', 'GET / HTTP/1.', 'GET / HTTP/1.1\r', 'PRI * HTTP/2.0\r\n']) {
      assert.equal(classify(Buffer.from(prefix)), undefined, prefix);
    }
  });

  it('classifies a TLS ClientHello and reads its SNI', async () => {
    const hello = await captureClientHello('web.shop.serviceaccount.identity.strait.cluster.local');
    assert.equal(classify(hello), 'tls');
    assert.equal(readClientHelloSni(hello), 'web.shop.serviceaccount.identity.strait.cluster.local');
    for (let n = 0; n < hello.length; n += 37) {
      assert.equal(readClientHelloSni(hello.subarray(0, n)), undefined);
    }
  });

  it('never throws and is stable under random input and every split (fuzz)', () => {
    for (let i = 0; i < 3000; i++) {
      const input =
        i % 2 ? randomBytes(1 + (i % 40)) : Buffer.concat([Buffer.from('GET /'), randomBytes(i % 30)]);
      const whole = classify(input);
      for (let n = 1; n <= input.length; n++) {
        const partial = classify(input.subarray(0, n));
        // A decision on a prefix is final: more bytes never change it.
        if (partial !== undefined) assert.equal(partial, whole ?? partial);
      }
      const sni = readClientHelloSni(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), input]));
      assert.ok(sni === null || sni === undefined || typeof sni === 'string');
    }
  });
});

function captureClientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.once('data', (chunk) => {
        resolve(chunk);
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const client = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
      client.on('error', () => {});
    });
  });
}

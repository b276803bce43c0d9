import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { relay } from './relay.ts';

/** A connected pair of TCP sockets on loopback. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect({
    port: (server.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  const other = await accepted;
  server.close();
  return [client, other];
}

describe('relay', () => {
  it('passes bytes and half-closes both ways', async () => {
    const [app, a] = await socketPair();
    const [b, peer] = await socketPair();
    relay(a, b);
    app.end('request');
    let got = '';
    peer.on('data', (d) => (got += d));
    await new Promise((resolve) => peer.once('end', resolve));
    assert.equal(got, 'request');
    peer.end('answer after half-close');
    let answer = '';
    app.on('data', (d) => (answer += d));
    await new Promise((resolve) => app.once('end', resolve));
    assert.equal(answer, 'answer after half-close');
    app.destroy();
    peer.destroy();
  });

  it('closes an idle connection and reports why', async () => {
    const [app, a] = await socketPair();
    const [b, peer] = await socketPair();
    const closed = new Promise<Error | undefined>((resolve) => relay(a, b, resolve, 100));
    app.write('x');
    const error = await closed;
    assert.match(String(error?.message), /no bytes either way for 100 ms/);
    peer.resume();
    await new Promise((resolve) => peer.once('end', resolve));
    app.destroy();
    peer.destroy();
  });
});

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { relay } from './relay.ts';
import { attachReadSink, withReusedBuffer } from './reused-buffer.ts';

async function listen(onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function connectReused(server: net.Server): Promise<net.Socket> {
  const { port } = server.address() as net.AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = withReusedBuffer((onread) =>
      net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, onread }),
    );
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A server that writes `count` pieces to each connection, one every few ms (each read on its own), then ends. */
function listenWritingSeparately(
  count: number,
  piece: (left: number) => Buffer | string,
): Promise<net.Server> {
  return listen((socket) => {
    let left = count;
    const next = () => {
      if (left-- === 0) socket.end();
      else socket.write(piece(left), () => setTimeout(next, 5));
    };
    next();
  });
}

/** Bytes whose every position is checkable: byte i is i mod 251. */
function pattern(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 251;
  return bytes;
}

describe('reused-buffer sockets', () => {
  it('behave as ordinary readable streams until a sink is attached', async () => {
    const server = await listen((socket) => socket.end('hello, reader'));
    const socket = await connectReused(server);
    let got = '';
    socket.on('data', (d: Buffer) => (got += d));
    await new Promise((resolve) => socket.once('end', resolve));
    assert.equal(got, 'hello, reader');
    assert.equal(
      attachReadSink(new net.Socket(), () => true),
      false,
    );
    socket.destroy();
    server.close();
  });

  it('reads into a kept buffer again only once the sink released it', { timeout: 30_000 }, async () => {
    const server = await listenWritingSeparately(20, () => pattern(1000));
    const socket = await connectReused(server);
    const buffers = new Set<ArrayBufferLike>();
    const held: Array<{ chunk: Buffer; copy: Buffer; release: () => void }> = [];
    let reads = 0;
    attachReadSink(socket, (chunk, keep) => {
      reads++;
      buffers.add(chunk.buffer);
      // Every read is kept; the one before it is checked intact, then released (twice: harmless).
      const previous = held.shift();
      if (previous) {
        assert.ok(previous.chunk.equals(previous.copy), 'a kept buffer is not read into before its release');
        previous.release();
        previous.release();
      }
      held.push({ chunk, copy: Buffer.from(chunk), release: keep() });
      return true;
    });
    socket.resume();
    await new Promise((resolve) => socket.once('end', resolve));
    assert.ok(reads >= 10, `reads: ${reads}`);
    assert.ok(buffers.size <= 3, `${buffers.size} buffers for ${reads} reads`);
    socket.destroy();
    server.close();
  });

  it('reads into a buffer kept twice again only once both holders released it', {
    timeout: 30_000,
  }, async () => {
    // Every write differs from the others, so bytes read over a held read show.
    const server = await listenWritingSeparately(12, (left) => Buffer.alloc(500, left));
    const socket = await connectReused(server);
    const buffers = new Set<ArrayBufferLike>();
    // Each read has two holders; the first lets go at the next read, the second at the one after.
    const held: Array<{ chunk: Buffer; copy: Buffer; first: () => void; second: () => void }> = [];
    let reads = 0;
    attachReadSink(socket, (chunk, keep) => {
      reads++;
      buffers.add(chunk.buffer);
      for (const earlier of held) {
        assert.ok(earlier.chunk.equals(earlier.copy), 'a buffer with a holder left is not read into');
      }
      const last = held.at(-1);
      last?.first();
      if (held.length === 2) (held.shift() as (typeof held)[number]).second();
      held.push({ chunk, copy: Buffer.from(chunk), first: keep(), second: keep() });
      return true;
    });
    socket.resume();
    await new Promise((resolve) => socket.once('end', resolve));
    assert.ok(reads >= 6, `reads: ${reads}`);
    assert.ok(buffers.size <= 4, `${buffers.size} buffers for ${reads} reads`);
    socket.destroy();
    server.close();
  });

  it('takes a new buffer for every read that is kept and never released', async () => {
    const server = await listenWritingSeparately(5, () => 'some bytes');
    const socket = await connectReused(server);
    const buffers = new Set<ArrayBufferLike>();
    let reads = 0;
    attachReadSink(socket, (chunk, keep) => {
      reads++;
      buffers.add(chunk.buffer);
      keep();
      return true;
    });
    socket.resume();
    await new Promise((resolve) => socket.once('end', resolve));
    assert.equal(buffers.size, reads);
    for (const buffer of buffers)
      assert.equal(buffer.byteLength, 64 * 1024, 'small reads keep 64 KiB buffers');
    socket.destroy();
    server.close();
  });

  it('reads into 256 KiB buffers once a read filled a 64 KiB one', { timeout: 30_000 }, async () => {
    const payload = pattern(4 * 1024 * 1024);
    const server = await listen((socket) => socket.end(payload));
    const socket = await connectReused(server);
    const chunks: Buffer[] = [];
    const sizes: number[] = [];
    attachReadSink(socket, (chunk) => {
      chunks.push(Buffer.from(chunk));
      sizes.push(chunk.buffer.byteLength);
      return true;
    });
    socket.resume();
    await new Promise((resolve) => socket.once('end', resolve));
    assert.equal(sizes[0], 64 * 1024);
    assert.ok(sizes.includes(256 * 1024), `buffer sizes: ${[...new Set(sizes)].join(', ')}`);
    assert.ok(Buffer.concat(chunks).equals(payload), 'bytes arrive unchanged and in order');
    socket.destroy();
    server.close();
  });

  it('relay 8 MiB intact to a slow reader, with bytes sent before the relay started', {
    timeout: 60_000,
  }, async () => {
    const payload = pattern(8 * 1024 * 1024);
    const early = Buffer.from('sent before the relay\n');
    const source = await listen((socket) => {
      socket.write(early);
      // The rest once the relay is surely attached, in many writes.
      setTimeout(() => {
        for (let i = 0; i < payload.length; i += 100_000) socket.write(payload.subarray(i, i + 100_000));
        socket.end();
      }, 100);
    });
    const front = await listen(async (accepted) => {
      const upstream = await connectReused(source);
      await new Promise((resolve) => setTimeout(resolve, 50));
      relay(accepted, upstream);
    });
    const { port } = front.address() as net.AddressInfo;
    const reader = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    // Read slowly at first so that the relay has to hold back.
    reader.pause();
    setTimeout(() => reader.resume(), 300);
    reader.on('data', (d: Buffer) => chunks.push(d));
    await new Promise((resolve) => reader.once('end', resolve));
    const received = Buffer.concat(chunks);
    assert.equal(received.length, early.length + payload.length);
    assert.ok(received.subarray(0, early.length).equals(early));
    assert.ok(received.subarray(early.length).equals(payload), 'payload bytes arrive unchanged and in order');
    reader.destroy();
    front.close();
    source.close();
  });
});

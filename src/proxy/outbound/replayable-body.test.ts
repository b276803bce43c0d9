import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ReplayableBody } from './replayable-body.ts';

function collect(stream: PassThrough): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk));
    stream.once('end', () => resolve(text));
  });
}

describe('a replayable request body', () => {
  it('sends every byte again to a later attempt while it fits', async () => {
    const source = new PassThrough();
    const body = new ReplayableBody(source, 10, false);
    const first = new PassThrough();
    body.attach(first);
    source.write('hello ');
    await new Promise((resolve) => setImmediate(resolve));
    body.detach();
    const second = new PassThrough();
    const got = collect(second);
    body.attach(second);
    source.end('you');
    assert.equal(await got, 'hello you');
    assert.equal(body.complete, true);
    assert.equal(body.replayable, true);
  });

  it('keeps nothing once the body outgrows the limit', async () => {
    const source = new PassThrough();
    const body = new ReplayableBody(source, 4, false);
    const sink = new PassThrough();
    const got = collect(sink);
    body.attach(sink);
    source.end('too long');
    assert.equal(await got, 'too long', 'the attempt itself still gets the whole body');
    assert.equal(body.replayable, false);
  });

  it('is empty and complete when the headers ended the request', () => {
    const body = new ReplayableBody(new PassThrough(), 4, true);
    assert.equal(body.empty, true);
    const sink = new PassThrough();
    body.attach(sink);
    assert.equal(sink.writableEnded, true);
  });
});

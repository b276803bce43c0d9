import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue } from './work-queue.ts';

describe('work queue', { timeout: 120_000 }, () => {
  it('queues a key once however often it is added, in first-added order', async () => {
    const queue = new WorkQueue();
    for (const key of ['a', 'b', 'a', 'c', 'b']) queue.add(key);
    assert.equal(queue.length, 3);
    assert.deepEqual([await queue.get(), await queue.get(), await queue.get()], ['a', 'b', 'c']);
  });

  it('never hands out a key being processed; one added meanwhile comes back after done', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const key = await queue.get();
    queue.add('a');
    queue.add('b');
    assert.equal(await queue.get(), 'b', 'a is being processed, so b comes first');
    assert.equal(queue.length, 0);
    queue.done(key as string);
    assert.equal(await queue.get(), 'a');
    assert.throws(() => queue.done('zzz'), { code: 'E_QUEUE' });
  });

  it('wakes a waiting get when a key arrives, and ends waiting gets at shutdown', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.add('a');
    assert.equal(await waiting, 'a');
    const pending = queue.get();
    queue.shutDown();
    assert.equal(await pending, undefined);
    queue.add('b');
    assert.equal(queue.length, 0, 'nothing is added after shutdown');
  });

  it('delays failed keys more each time, until forgotten', async () => {
    const queue = new WorkQueue({ baseDelayMs: 20, maxDelayMs: 80 });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = process.hrtime.bigint();
      queue.addRateLimited('a');
      const key = await queue.get();
      delays.push(Number(process.hrtime.bigint() - started) / 1e6);
      queue.done(key as string);
    }
    assert.equal(queue.retries('a'), 4);
    // Timers never fire early: each wait is at least its backoff (20, 40, 80, capped 80).
    assert.ok((delays[0] as number) >= 19 && (delays[1] as number) >= 39 && (delays[2] as number) >= 79);
    assert.ok((delays[3] as number) >= 79);
    queue.forget('a');
    assert.equal(queue.retries('a'), 0);
  });

  it('keeps the earliest of several delayed adds of a key', async () => {
    const queue = new WorkQueue();
    queue.addAfter('a', 60_000);
    queue.addAfter('a', 1);
    assert.equal(await queue.get(), 'a');
    queue.shutDown();
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventQueue } from './event-queue.ts';

interface Item {
  type: string;
  attempts: number;
  key: string;
}

function queue(
  handle: (event: Item) => Promise<void>,
  options: { ready?: () => boolean; maxAttempts?: number } = {},
) {
  const logs: string[] = [];
  let drained = 0;
  const q = new EventQueue<Item>({
    handle,
    ready: options.ready ?? (() => true),
    concurrency: 4,
    retryMs: 5,
    maxAttempts: options.maxAttempts ?? 3,
    onDrained: () => {
      drained++;
    },
    log: (line) => logs.push(line),
  });
  return { q, logs, drained: () => drained };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check() && Date.now() < deadline) await sleep(10);
  assert.ok(check());
}

describe('event queue', () => {
  it('keeps one pending event per key, with the latest name, and never handles a key twice at once', async () => {
    const handled: string[] = [];
    let running = 0;
    let overlap = false;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { q } = queue(async (event) => {
      running++;
      if (running > 1 && event.key === 'a') overlap = true;
      if (event.type === 'First') await gate;
      handled.push(`${event.key}:${event.type}`);
      running--;
    });
    q.start();
    q.enqueue('a', { type: 'First', attempts: 0, key: 'a' });
    await until(() => running === 1);
    // 'a' is being handled: these coalesce into one pending 'a' named Third.
    q.enqueue('a', { type: 'Second', attempts: 0, key: 'a' });
    q.enqueue('a', { type: 'Third', attempts: 0, key: 'a' });
    q.enqueue('b', { type: 'Other', attempts: 0, key: 'b' });
    await until(() => handled.includes('b:Other'));
    release();
    await until(() => handled.length === 3);
    assert.deepEqual(handled, ['b:Other', 'a:First', 'a:Third']);
    assert.equal(overlap, false);
    await q.stop();
  });

  it('waits until ready', async () => {
    let ready = false;
    const handled: string[] = [];
    const { q } = queue(
      async (event) => {
        handled.push(event.key);
      },
      { ready: () => ready },
    );
    q.start();
    q.enqueue('a', { type: 'E', attempts: 0, key: 'a' });
    await sleep(60);
    assert.deepEqual(handled, []);
    ready = true;
    await until(() => handled.length === 1);
    await q.stop();
  });

  it('retries a failing event with backoff, then gives up and says so', async () => {
    let calls = 0;
    const { q, logs, drained } = queue(async () => {
      calls++;
      throw new Error('store unavailable');
    });
    q.start();
    q.enqueue('a', { type: 'RemoteServiceExported', attempts: 0, key: 'a' });
    await until(() => logs.some((l) => l.startsWith('giving up')));
    assert.equal(calls, 3);
    assert.match(
      logs.at(-1) ?? '',
      /giving up on RemoteServiceExported a after 3 attempts: store unavailable/,
    );
    assert.ok(drained() >= 1);
    await q.stop();
  });
});

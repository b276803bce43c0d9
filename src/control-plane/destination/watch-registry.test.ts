import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WatchRegistry } from './watch-registry.ts';

test('subscribers of one key share one computation; a burst of invalidations recomputes once', async () => {
  const registry = new WatchRegistry<number>();
  let source = 1;
  let computed = 0;
  const compute = () => {
    computed++;
    return { value: source, dependencies: ['svc:a'] };
  };
  const one = registry.subscribe('a', compute, (x, y) => x === y);
  const two = registry.subscribe('a', compute, (x, y) => x === y);
  assert.equal(computed, 1);
  assert.equal(registry.size, 1);

  const signal = new AbortController().signal;
  const changed = Promise.all([one.changed(1, signal), two.changed(1, signal)]);
  source = 2;
  registry.invalidate(['svc:a']);
  registry.invalidate(['svc:a', 'svc:unrelated']);
  await changed;
  assert.equal(computed, 2);
  assert.equal(one.value, 2);
  assert.equal(two.value, 2);
});

test('an unchanged value wakes nobody; closing the last subscriber drops the watch', async () => {
  const registry = new WatchRegistry<string>();
  let computed = 0;
  const sub = registry.subscribe(
    'k',
    () => {
      computed++;
      return { value: 'same', dependencies: ['ns:x'] };
    },
    (a, b) => a === b,
  );
  const abort = new AbortController();
  let woke = false;
  const waiting = sub.changed('same', abort.signal).then(() => {
    woke = true;
  });
  registry.invalidate(['ns:x']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(computed, 2);
  assert.equal(woke, false);
  abort.abort();
  await waiting;
  sub.close();
  sub.close();
  assert.equal(registry.size, 0);
  registry.invalidate(['ns:x']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(computed, 2, 'a dropped watch is not recomputed');
});

test('dependencies follow what the last computation read', async () => {
  const registry = new WatchRegistry<string>();
  let dependency = 'svc:old';
  const sub = registry.subscribe(
    'k',
    () => ({ value: dependency, dependencies: [dependency] }),
    (a, b) => a === b,
  );
  dependency = 'svc:new';
  registry.invalidate(['svc:old']);
  await sub.changed('svc:old', new AbortController().signal);
  assert.equal(sub.value, 'svc:new');
  dependency = 'svc:newer';
  registry.invalidate(['svc:old']);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sub.value, 'svc:new', 'the old dependency no longer triggers');
});

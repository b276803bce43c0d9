import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.ts';
import { WatchExpiredError } from '../../../core/store.ts';
import { StoreCorruptError, StoreLockedError } from './errors.ts';
import { openLocalStore } from './open.ts';
import { frame } from './record-file.ts';
import { configMap, service, take } from './test-objects.ts';

const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const dirs: string[] = [];
const stateDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'strait-store-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The ConfigMaps stored in `dir`; with `settle`, after collection the open started has run. */
async function everything(dir: string, settle = true): Promise<Resource[]> {
  const store = await openLocalStore({ dir });
  try {
    if (settle) await store.settled();
    return (await store.list(CONFIG_MAP)).items;
  } finally {
    await store.close();
  }
}

describe('local store on disk', { timeout: 120_000 }, () => {
  it('keeps objects, uids and versions across a restart, and continues the version sequence', async () => {
    const dir = stateDir();
    const first = await openLocalStore({ dir });
    const a = await first.create(configMap('a', 'default', { k: '1' }));
    await first.create(configMap('b'));
    await first.patch({ ...CONFIG_MAP, namespace: 'default', name: 'a' }, { data: { k: '2' } });
    await first.delete({ ...CONFIG_MAP, namespace: 'default', name: 'b' });
    await first.close();

    const second = await openLocalStore({ dir });
    const items = (await second.list(CONFIG_MAP)).items;
    assert.deepEqual(
      items.map((o) => [o.metadata.name, o.data, o.metadata.uid, o.metadata.resourceVersion]),
      [['a', { k: '2' }, a.metadata.uid, '3']],
    );
    assert.equal(second.resourceVersion, '4');
    const c = await second.create(configMap('c'));
    assert.equal(c.metadata.resourceVersion, '5');
    await assert.rejects(take(second.watch(CONFIG_MAP, { resourceVersion: '2' }), 1), WatchExpiredError);
    const live = take(second.watch(CONFIG_MAP, { resourceVersion: '5' }), 1);
    await second.create(configMap('d'));
    assert.equal((await live)[0]?.object.metadata.name, 'd');
    await second.close();
  });

  it('acknowledges concurrent writes together, and watchers see each change once, in order', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir });
    const burst = (from: number) =>
      Array.from({ length: 50 }, (_, i) =>
        store.create(configMap(`cm-${from + i}`, 'default', { i: String(i) })),
      );
    const first = burst(0);
    // Starts while the first burst is written but not yet known durable.
    const watch = take(store.watch(CONFIG_MAP), 100);
    const second = burst(50);
    const acknowledged = await Promise.all([...first, ...second]);
    const events = await watch;
    const names = events.map((e) => e.object.metadata.name);
    assert.equal(new Set(names).size, 100, 'no object twice');
    const versions = events.slice(50).map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
    );
    await store.close();
    const reopened = await everything(dir);
    assert.equal(reopened.length, 100);
    assert.equal(acknowledged.length, 100);
  });

  it('compacts the log into snapshots and reads both back', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir, snapshotEvery: 5 });
    for (let i = 0; i < 23; i++) await store.create(configMap(`cm-${i}`));
    await store.delete({ ...CONFIG_MAP, namespace: 'default', name: 'cm-0' });
    await store.close();
    assert.ok(statSync(join(dir, 'snapshot')).size > 0);
    assert.ok(statSync(join(dir, 'log')).size < statSync(join(dir, 'snapshot')).size);
    const names = (await everything(dir)).map((o) => o.metadata.name);
    assert.equal(names.length, 22);
    assert.ok(!names.includes('cm-0'));
  });

  it('writes a snapshot larger than one write chunk, with non-ASCII data, and reads it back whole', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir, snapshotEvery: 40 });
    const data = (i: number) => ({ text: `${'é✓'.repeat(16_000)}-${i}` });
    for (let i = 0; i < 41; i++) await store.create(configMap(`big-${i}`, 'default', data(i)));
    await store.close();
    assert.ok(statSync(join(dir, 'snapshot')).size > 3 * 1024 * 1024);
    const objects = await everything(dir);
    assert.equal(objects.length, 41);
    for (const object of objects) {
      const i = Number(object.metadata.name.slice('big-'.length));
      assert.deepEqual((object as Resource & { data: unknown }).data, data(i));
    }
  });

  it('ignores log records a snapshot already holds (a crash between snapshot and log reset)', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir, snapshotEvery: 5 });
    for (let i = 0; i < 4; i++) await store.create(configMap(`cm-${i}`));
    copyFileSync(join(dir, 'log'), join(dir, 'log.before'));
    await store.create(configMap('cm-4'));
    await store.close();
    copyFileSync(join(dir, 'log.before'), join(dir, 'log'));
    const reopened = await openLocalStore({ dir });
    assert.equal((await reopened.list(CONFIG_MAP)).items.length, 5);
    assert.equal(reopened.resourceVersion, '5');
    await reopened.close();
  });

  it('cuts off a torn last record and keeps every complete one', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir });
    await store.create(configMap('a'));
    await store.create(configMap('b'));
    await store.close();
    const complete = statSync(join(dir, 'log')).size;
    appendFileSync(join(dir, 'log'), frame(Buffer.from('{"v":3,"t":"ADDED"}')).subarray(0, 20));
    assert.deepEqual(
      (await everything(dir)).map((o) => o.metadata.name),
      ['a', 'b'],
    );
    assert.equal(statSync(join(dir, 'log')).size, complete);
    appendFileSync(join(dir, 'log'), Buffer.alloc(300));
    assert.equal((await everything(dir)).length, 2, 'a zero-filled tail is a torn write too');
    assert.equal(statSync(join(dir, 'log')).size, complete);
  });

  it('recovers every complete record from a log cut at any byte, and reads damage as corruption only', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir });
    const ends: number[] = [];
    for (let i = 0; i < 12; i++) {
      await store.create(configMap(`cm-${i}`, 'default', { i: 'x'.repeat(i * 7) }));
      ends.push(statSync(join(dir, 'log')).size);
    }
    await store.close();
    const log = readFileSync(join(dir, 'log'));
    for (let cut = 0; cut <= log.length; cut += 13) {
      writeFileSync(join(dir, 'log'), log.subarray(0, cut));
      const complete = ends.filter((end) => end <= cut).length;
      assert.equal((await everything(dir)).length, complete, `cut at byte ${cut}`);
    }
    for (let at = 0; at < log.length; at += 17) {
      const damaged = Buffer.from(log);
      damaged[at] = (damaged[at] as number) ^ 0x5a;
      writeFileSync(join(dir, 'log'), damaged);
      const result = await everything(dir).catch((error: unknown) => error);
      if (Array.isArray(result))
        assert.ok(result.length >= 11, `damage at byte ${at} lost only the last record`);
      else assert.ok(result instanceof StoreCorruptError, `damage at byte ${at}: ${result}`);
    }
  });

  it('refuses a log with a damaged record in the middle, naming the file', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir });
    await store.create(configMap('a'));
    await store.create(configMap('b'));
    await store.close();
    const bytes = readFileSync(join(dir, 'log'));
    bytes[20] = (bytes[20] as number) ^ 0xff;
    writeFileSync(join(dir, 'log'), bytes);
    const error = await openLocalStore({ dir }).catch((e: unknown) => e);
    assert.ok(error instanceof StoreCorruptError);
    assert.match(error.message, /log is corrupt: record at byte 0 fails its checksum/);
  });

  it('lets one store at a time use a directory', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir });
    await assert.rejects(openLocalStore({ dir }), StoreLockedError);
    await store.close();
    const again = await openLocalStore({ dir });
    await again.close();
    // A lock naming a live process is honoured, unless that pid now belongs to a process started later.
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(join(dir, 'lock'), `${process.ppid} ${started}`);
    await assert.rejects(openLocalStore({ dir }), StoreLockedError);
    writeFileSync(join(dir, 'lock'), `${process.ppid} 1`);
    const reused = await openLocalStore({ dir });
    await reused.close();
  });

  it('finishes owner collection that a restart interrupted', async () => {
    const dir = stateDir();
    const store = await openLocalStore({ dir });
    const owner = await store.create(service('owner'));
    await store.create({
      ...configMap('child'),
      metadata: {
        name: 'child',
        namespace: 'default',
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Service', name: 'owner', uid: owner.metadata.uid as string },
        ],
      },
    });
    // Close right after the delete is made, before its background collection runs, as a crash would.
    const deleted = store.delete({ apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'owner' });
    await store.close();
    assert.equal(await deleted, true);
    assert.equal((await everything(dir, false)).length, 1);
    const reopened = await openLocalStore({ dir });
    await reopened.settled();
    assert.equal((await reopened.list(CONFIG_MAP)).items.length, 0);
    await reopened.close();
  });
});

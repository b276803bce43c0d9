import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import type { Resource } from '../../../src/core/resource.ts';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';

const WRITER = new URL('./crash-writer.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'strait-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Ack {
  op: 'create' | 'patch' | 'delete';
  name: string;
  version: number;
}

/** Runs the writer until it has acknowledged `count` writes, then SIGKILLs it mid-stream. */
async function writeThenKill(first: number, count: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [WRITER, dir, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const acks: Ack[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const [op, name, version] = line.split(' ') as [Ack['op'], string, string];
    acks.push({ op, name, version: Number(version) });
    if (acks.length === count) child.kill('SIGKILL');
  }
  await exited;
  assert.ok(acks.length >= count, `the writer stopped early: ${stderr}`);
  return acks;
}

describe('local store: crash while writing', () => {
  it('keeps every acknowledged write across repeated SIGKILLs', { timeout: 300_000 }, async () => {
    const expected = new Map<string, { rewritten: boolean; version: number }>();
    let next = 0;
    let lastVersion = 0;
    for (const count of [150, 90, 230, 60]) {
      const acks = await writeThenKill(next, count);
      for (const ack of acks) {
        assert.ok(ack.version > lastVersion, 'versions only grow, across restarts too');
        lastVersion = ack.version;
        if (ack.op === 'create') expected.set(ack.name, { rewritten: false, version: ack.version });
        if (ack.op === 'patch') expected.set(ack.name, { rewritten: true, version: ack.version });
        if (ack.op === 'delete') expected.delete(ack.name);
      }
      const store = await openLocalStore({ dir });
      const items = new Map<string, Resource & { data?: Record<string, string> }>(
        (
          await store.list<Resource & { data?: Record<string, string> }>({
            apiVersion: 'v1',
            kind: 'ConfigMap',
          })
        ).items.map((o) => [o.metadata.name, o]),
      );
      const missing: string[] = [];
      for (const [name, want] of expected) {
        const got = items.get(name);
        if (!got) {
          missing.push(name);
          continue;
        }
        if (want.rewritten) assert.equal(got.data?.rewritten, 'yes', `${name} keeps its acknowledged patch`);
        assert.ok(
          Number(got.metadata.resourceVersion) >= want.version,
          `${name} is at least as new as acknowledged`,
        );
      }
      // Only the one write in flight at the kill may have landed unacknowledged.
      const extra = [...items.keys()].filter((name) => !expected.has(name));
      assert.ok(
        missing.length + extra.length <= 1,
        `missing ${missing.join(', ')}; extra ${extra.join(', ')}`,
      );
      assert.ok(Number(store.resourceVersion) >= lastVersion);
      lastVersion = Number(store.resourceVersion);
      expected.clear();
      for (const [name, object] of items) {
        const version = Number(object.metadata.resourceVersion);
        expected.set(name, { rewritten: object.data?.rewritten === 'yes', version });
      }
      next = Math.max(...[...items.keys()].map((n) => Number(n.slice('item-'.length)))) + 1;
      await store.close();
    }
    assert.ok(expected.size > 300);
  });
});

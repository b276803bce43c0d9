import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStraitError } from '../../../core/errors.ts';
import type { Resource } from '../../../core/resource.ts';
import { validateResource } from '../../../core/schemas/index.ts';
import { openLocalStore } from './open.ts';
import { service } from './test-objects.ts';

const JUNK: unknown[] = [
  null,
  0,
  -1,
  1.5,
  70000,
  '',
  'x',
  'Not Valid!',
  true,
  [],
  [1, 'a'],
  {},
  { a: { b: 1 } },
];

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Every path into `value`, objects and lists included. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const found: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) found.push(...paths(item, [...prefix, i]));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) found.push(...paths(child, [...prefix, key]));
  }
  return found;
}

function replaceAt(object: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(object) as Record<string | number, unknown>;
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path.at(-1) as string | number] = structuredClone(value);
  return copy;
}

const SAMPLES: Resource[] = [
  {
    ...service('web'),
    metadata: {
      name: 'web',
      namespace: 'default',
      labels: { app: 'web' },
      annotations: { 'strait.io/x': 'y' },
      finalizers: ['strait.io/hold'],
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u-1' }],
    },
  },
  {
    apiVersion: 'multicluster.strait.io/v1alpha1',
    kind: 'Link',
    metadata: { name: 'east', namespace: 'default' },
    spec: {
      targetClusterName: 'east',
      clusterCredentialsSecret: 'creds',
      gatewayAddress: '127.0.0.1',
      gatewayIdentity: 'gw',
      probeSpec: { path: '/ready', port: 4191, period: '3s', failureThreshold: 3, timeout: '2s' },
    },
  },
];

describe('local store: malformed input', { timeout: 120_000 }, () => {
  it('rejects junk anywhere with a StraitError, stores only valid objects and loses nothing', async () => {
    const next = random(7);
    const store = await openLocalStore({});
    const bystander = await store.create(service('bystander'));
    const patchedRef = { apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'patched' };
    const markedRef = { ...patchedRef, name: 'marked' };
    /** The objects operations aim at: one to patch, and one being deleted, held by a finalizer. */
    const ensureTargets = async () => {
      if (!(await store.get(patchedRef))) await store.create(service('patched'));
      if (await store.get(markedRef)) return;
      await store.create({
        ...service('marked'),
        metadata: { name: 'marked', namespace: 'default', finalizers: ['a/b'] },
      });
      await store.delete(markedRef);
    };
    let accepted = 0;
    let rejected = 0;
    for (let round = 0; round < 4000; round++) {
      const sample = SAMPLES[round % SAMPLES.length] as Resource;
      const all = paths(sample);
      const path = all[Math.floor(next() * all.length)] as (string | number)[];
      const junk = JUNK[Math.floor(next() * JUNK.length)];
      const object = replaceAt(sample, path, junk) as Resource;
      const operation = Math.floor(next() * 5);
      const target =
        operation === 4 ? { ...object, metadata: { ...(object?.metadata ?? {}), name: 'marked' } } : object;
      await ensureTargets();
      const versionBefore = store.resourceVersion;
      try {
        const call = [
          () => store.create(target),
          () => store.apply(target, { fieldManager: 'fuzz', force: true }),
          () => store.patch(patchedRef, target as never),
          () => store.update(target),
          () => store.update(target),
        ][operation] as () => Promise<Resource>;
        const stored = await call();
        accepted++;
        assert.deepEqual(validateResource(stored), [], `stored objects are valid (round ${round})`);
        const { apiVersion, kind, metadata } = stored;
        await store.delete({ apiVersion, kind, namespace: metadata.namespace, name: metadata.name });
      } catch (error) {
        rejected++;
        const what = `round ${round}: ${JSON.stringify(path)} = ${JSON.stringify(junk)}`;
        assert.ok(isStraitError(error), `${what}: ${error}`);
        assert.equal(store.resourceVersion, versionBefore, `${what}: a rejected write changes nothing`);
      }
    }
    assert.ok(accepted > 50 && rejected > 50, `accepted ${accepted}, rejected ${rejected}`);
    assert.deepEqual(await store.get({ ...patchedRef, name: 'bystander' }), bystander);
  });
});

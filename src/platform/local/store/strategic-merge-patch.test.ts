import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kinds } from '../../../core/kinds.ts';
import { schemaFor } from '../../../core/schemas/index.ts';
import { InvalidError } from '../../../core/store.ts';
import { strategicMergePatch } from './strategic-merge-patch.ts';

const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', tier: 'front' }, finalizers: ['a/x'] },
  spec: {
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'admin', port: 9000, protocol: 'TCP' },
    ],
    type: 'ClusterIP',
  },
};
const patch = (body: unknown, target: unknown = service) =>
  strategicMergePatch('Service shop/web', target, body, schemaFor(Kinds.Service)) as typeof service;

describe('strategic merge patch', () => {
  it('merges ports by key as kubectl’s apply patch asks: replace one, keep the other, order as given', () => {
    // What kubectl apply sends when the manifest moves port 80 to 8080 (protocol left to its default).
    const result = patch({
      spec: {
        '$setElementOrder/ports': [{ port: 9000 }, { port: 8080 }],
        ports: [
          { name: 'http', port: 8080 },
          { $patch: 'delete', port: 80 },
        ],
      },
    });
    assert.deepEqual(result.spec.ports, [
      { name: 'admin', port: 9000, protocol: 'TCP' },
      { name: 'http', port: 8080 },
    ]);
    assert.deepEqual(result.spec.selector, { app: 'web' });
  });

  it('merges fields into the item with the same key, a missing protocol being its default', () => {
    const result = patch({ spec: { ports: [{ port: 80, targetPort: 8080 }] } });
    assert.deepEqual(result.spec.ports[0], { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 });
    assert.equal(result.spec.ports.length, 2);
  });

  it('removes map keys set to null, keeps only $retainKeys, and replaces a map on $patch: replace', () => {
    assert.deepEqual(patch({ metadata: { labels: { tier: null } } }).metadata.labels, { app: 'web' });
    const retained = patch({ spec: { $retainKeys: ['ports', 'selector'], selector: { app: 'api' } } });
    assert.deepEqual(Object.keys(retained.spec).sort(), ['ports', 'selector']);
    assert.deepEqual(retained.spec.selector, { app: 'api' });
    const replaced = patch({ metadata: { labels: { $patch: 'replace', only: 'this' } } });
    assert.deepEqual(replaced.metadata.labels, { only: 'this' });
  });

  it('adds to and deletes from a set list by value', () => {
    const added = patch({ metadata: { finalizers: ['b/y'] } });
    assert.deepEqual(added.metadata.finalizers, ['a/x', 'b/y']);
    const removed = patch({ metadata: { '$deleteFromPrimitiveList/finalizers': ['a/x'] } }, added);
    assert.deepEqual(removed.metadata.finalizers, ['b/y']);
  });

  it('refuses to merge by key a list that is one value here, naming it', () => {
    const endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'shop' },
      subsets: [{ addresses: [{ ip: '10.0.0.1' }] }],
    };
    assert.throws(
      () =>
        strategicMergePatch(
          'Endpoints shop/web',
          endpoints,
          { '$setElementOrder/subsets': [{}], subsets: [{ $patch: 'delete' }] },
          schemaFor(Kinds.Endpoints),
        ),
      (error: unknown) =>
        error instanceof InvalidError && /subsets: is merged by key by the client/.test(error.message),
    );
    const replaced = strategicMergePatch(
      'Endpoints shop/web',
      endpoints,
      { subsets: [{ addresses: [{ ip: '10.0.0.2' }] }] },
      schemaFor(Kinds.Endpoints),
    ) as typeof endpoints;
    assert.deepEqual(replaced.subsets, [{ addresses: [{ ip: '10.0.0.2' }] }], 'a plain list replaces');
  });
});

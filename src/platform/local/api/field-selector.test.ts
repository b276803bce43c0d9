import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kinds } from '../../../core/kinds.ts';
import type { Resource } from '../../../core/resource.ts';
import { FieldSelectorError, parseFieldSelector } from './field-selector.ts';

const service = (namespace: string, name: string): Resource => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
});
const event = (name: string, about: string): Resource =>
  ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'shop' },
    involvedObject: { kind: 'Service', name: about, namespace: 'shop' },
    reason: 'Synced',
  }) as Resource;

describe('field selectors', () => {
  it('selects by name and namespace with =, == and !=', () => {
    const objects = [service('shop', 'web'), service('shop', 'db'), service('other', 'web')];
    const names = (selector: string) =>
      objects
        .filter(parseFieldSelector(selector, Kinds.Service))
        .map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    assert.deepEqual(names('metadata.name=web'), ['shop/web', 'other/web']);
    assert.deepEqual(names('metadata.name==web,metadata.namespace!=shop'), ['other/web']);
    assert.deepEqual(names(''), ['shop/web', 'shop/db', 'other/web']);
  });

  it('selects Events by the object they are about, as kubectl describe asks', () => {
    const select = parseFieldSelector('involvedObject.name=web,involvedObject.kind=Service', Kinds.Event);
    assert.deepEqual(
      [event('a', 'web'), event('b', 'db')].filter(select).map((e) => e.metadata.name),
      ['a'],
    );
  });

  it('refuses fields the kind cannot be selected by, and terms without an operator', () => {
    assert.throws(() => parseFieldSelector('spec.type=ClusterIP', Kinds.Service), FieldSelectorError);
    assert.throws(() => parseFieldSelector('involvedObject.name=web', Kinds.Service), /not a field Service/);
    assert.throws(() => parseFieldSelector('metadata.name', Kinds.Service), /is not field=value/);
  });

  it('reads backslash-escaped commas and equals signs as part of the value', () => {
    const select = parseFieldSelector('metadata.name=a\\,b', Kinds.Service);
    assert.equal(select(service('shop', 'a,b')), true);
    assert.equal(select(service('shop', 'a')), false);
  });
});

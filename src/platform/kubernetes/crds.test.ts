import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kinds } from '../../core/kinds.ts';
import { CRD_KINDS, customResourceDefinitions } from './crds.ts';

test('each CRD is named plural.group and has a status subresource exactly when the kind has status', () => {
  const crds = customResourceDefinitions();
  assert.deepEqual(
    crds.map((crd) => crd.spec.names.kind),
    [...CRD_KINDS],
  );
  for (const crd of crds) {
    const info = Kinds[crd.spec.names.kind as (typeof CRD_KINDS)[number]];
    const [version] = crd.spec.versions;
    assert.equal(crd.metadata.name, `${info.plural}.${crd.spec.group}`);
    assert.equal(`${crd.spec.group}/${version?.name}`, info.apiVersion);
    assert.equal(crd.spec.scope, info.namespaced ? 'Namespaced' : 'Cluster');
    assert.equal(version?.subresources !== undefined, info.hasStatus, crd.metadata.name);
    assert.equal(version?.schema.openAPIV3Schema.type, 'object');
  }
});

test('the schemas are copied, so editing a manifest cannot change the shared schema', () => {
  const [first] = customResourceDefinitions();
  (first?.spec.versions[0]?.schema.openAPIV3Schema as { description?: string }).description = 'changed';
  const [again] = customResourceDefinitions();
  assert.notEqual(again?.spec.versions[0]?.schema.openAPIV3Schema.description, 'changed');
});

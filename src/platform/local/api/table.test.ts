import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kinds } from '../../../core/kinds.ts';
import type { Resource } from '../../../core/resource.ts';
import { tableOf, wantsTable } from './table.ts';

const created = '2026-01-01T00:00:00Z';
const now = Date.parse(created) + 90 * 60_000;

describe('server-side tables', () => {
  it('answers the Table kubectl get asks for, and nothing else', () => {
    assert.equal(
      wantsTable(
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      ),
      true,
    );
    assert.equal(wantsTable('application/json'), false);
    assert.equal(wantsTable(undefined), false);
  });

  it('prints a Service’s type, cluster IP and ports between NAME and AGE', () => {
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop', creationTimestamp: created, managedFields: [{}] },
      spec: {
        ports: [
          { port: 80, protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
        ],
      },
    } as Resource;
    const table = tableOf(Kinds.Service, [service], { resourceVersion: '9', now });
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ['Name', 'Type', 'Cluster-IP', 'Ports', 'Age'],
    );
    assert.deepEqual(table.rows[0]?.cells, ['web', 'ClusterIP', '<none>', '80/TCP,53/UDP', '90m']);
    assert.equal(table.rows[0]?.object.metadata.namespace, 'shop');
    assert.equal(table.rows[0]?.object.metadata.managedFields, undefined);
    assert.equal(table.metadata.resourceVersion, '9');
  });

  it('prints NAME and AGE for kinds without columns of their own, and rows without definitions for watch events', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'shop' },
    } as Resource;
    const table = tableOf(Kinds.Secret, [secret], { now });
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ['Name', 'Age'],
    );
    assert.deepEqual(table.rows[0]?.cells, ['s', '<unknown>']);
    assert.deepEqual(tableOf(Kinds.Secret, [secret], { withColumns: false }).columnDefinitions, []);
  });
});

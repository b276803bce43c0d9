import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { InvalidError } from '../../../src/core/store.ts';
import { customResourceDefinitions } from '../../../src/platform/kubernetes/crds.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { eventually, freshNamespace, storeOn } from './fixtures.ts';

interface Link extends Resource {
  spec: Record<string, unknown> & { probeSpec?: Record<string, unknown> };
  status?: { gatewayAlive?: boolean; mirroredServices?: number };
}

function link(namespace: string, name: string, spec: Record<string, unknown> = {}): Link {
  return {
    apiVersion: Kinds.Link.apiVersion,
    kind: 'Link',
    metadata: { name, namespace },
    spec: {
      targetClusterName: 'east',
      clusterCredentialsSecret: 'cluster-credentials-east',
      gatewayAddress: '127.0.0.1',
      gatewayIdentity: 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local',
      ...spec,
    },
  };
}

/** The generated CRDs are accepted by the real API server and enforce the shared schemas. */
export async function crdTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const store = storeOn(clusters, 'west');

  await t.test('crds: the API server accepts every CRD and establishes it', async () => {
    for (const crd of customResourceDefinitions()) {
      await store.apply(crd, { fieldManager: 'strait-install', force: true });
    }
    for (const crd of customResourceDefinitions()) {
      await eventually(`${crd.metadata.name} to be established`, async () => {
        const current = await store.get<
          Resource & { status?: { conditions?: { type: string; status: string }[] } }
        >({
          ...KubernetesKinds.CustomResourceDefinition,
          name: crd.metadata.name,
        });
        return current?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      });
    }
    // Applying the same manifests again changes nothing.
    for (const crd of customResourceDefinitions()) {
      const before = await store.get({
        ...KubernetesKinds.CustomResourceDefinition,
        name: crd.metadata.name,
      });
      const after = await store.apply(crd, { fieldManager: 'strait-install', force: true });
      assert.equal(after.metadata.resourceVersion, before?.metadata.resourceVersion, crd.metadata.name);
    }
  });

  await t.test('crds: a Link is defaulted by the server and its status is a subresource', async () => {
    const ns = await freshNamespace(store, 'links');
    const created = await store.create(link(ns, 'east'));
    assert.equal(created.spec.targetClusterDomain, 'cluster.local');
    assert.equal(created.spec.gatewayPort, 4143);
    assert.deepEqual(created.spec.probeSpec, {
      path: '/ready',
      port: 4191,
      period: '3s',
      failureThreshold: 3,
      timeout: '2s',
    });
    const withStatus = await store.updateStatus({
      ...created,
      status: { gatewayAlive: true, mirroredServices: 2 },
    });
    assert.deepEqual(withStatus.status, { gatewayAlive: true, mirroredServices: 2 });
    const listed = await store.list<Link>(Kinds.Link, { namespace: ns });
    assert.deepEqual(
      listed.items.map((item) => [item.kind, item.metadata.name, item.status?.mirroredServices]),
      [['Link', 'east', 2]],
    );
  });

  await t.test('crds: objects that break the schema are rejected with the field and the reason', async () => {
    const ns = await freshNamespace(store, 'invalid');
    const error = await store
      .create(link(ns, 'bad', { gatewayPort: 70000, targetClusterName: 'Not_A_Label' }))
      .then(
        () => assert.fail('an invalid Link must be rejected'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof InvalidError, String(error));
    const fields = error.fields.map((f) => f.field).sort();
    assert.deepEqual(fields, ['spec.gatewayPort', 'spec.targetClusterName']);
    assert.match(error.message, /spec\.gatewayPort: .*65535/);

    const missing = await store
      .create({
        apiVersion: Kinds.Server.apiVersion,
        kind: 'Server',
        metadata: { name: 's', namespace: ns },
        spec: {},
      })
      .then(
        () => assert.fail('a Server without podSelector and port must be rejected'),
        (e: unknown) => e,
      );
    assert.ok(missing instanceof InvalidError, String(missing));
    assert.deepEqual(missing.fields.map((f) => f.field).sort(), ['spec.podSelector', 'spec.port']);

    const split = await store.create({
      apiVersion: Kinds.TrafficSplit.apiVersion,
      kind: 'TrafficSplit',
      metadata: { name: 'web', namespace: ns },
      spec: { service: 'web', backends: [{ service: 'web', weight: 1 }] },
    });
    assert.equal(split.kind, 'TrafficSplit');
  });
}

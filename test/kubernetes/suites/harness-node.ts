import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { readUntilEnd } from '../harness/netns-test-support.ts';
import type { HarnessNode } from '../harness/node.ts';
import { eventually, freshNamespace, storeOn, uncommonPort } from './fixtures.ts';

interface EndpointSlice extends Resource {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; targetRef?: { name: string } }[];
}

/** A container command: answers every connection on POD_IP:PORT with the pod's name. */
const SERVE_POD_NAME =
  "require('node:net').createServer((s) => s.end(process.env.POD_NAME)).listen(Number(process.env.PORT), process.env.POD_IP)";

const PORT = uncommonPort();

/** The harness node runs pods, and KCM turns them into EndpointSlices as on a real cluster. */
export async function harnessNodeTests(t: TestContext, clusters: TestClusters): Promise<void> {
  await podTests(t, clusters, await clusters.node('east'));
}

async function podTests(t: TestContext, clusters: TestClusters, node: HarnessNode): Promise<void> {
  const store = storeOn(clusters, 'east');

  await t.test('harness node: pods get an address and readiness, and EndpointSlices follow', async () => {
    const ns = await freshNamespace(store, 'pods');
    // Admission refuses pods until KCM has created the namespace's default ServiceAccount.
    await eventually('the default ServiceAccount', async () =>
      store.get({ ...Kinds.ServiceAccount, namespace: ns, name: 'default' }),
    );
    await store.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: ns },
      spec: { selector: { app: 'backend' }, ports: [{ port: 80, targetPort: PORT }] },
    });
    await store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'backend-0', namespace: ns, labels: { app: 'backend' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'strait/test-app',
            command: ['node', '-e', SERVE_POD_NAME],
            env: [{ name: 'PORT', value: String(PORT) }],
            readinessProbe: { tcpSocket: { port: PORT } },
          },
        ],
      },
    });

    const pod = await eventually('the pod to run', async () => {
      const current = await store.get<Resource & { status?: { podIP?: string; phase?: string } }>({
        ...Kinds.Pod,
        namespace: ns,
        name: 'backend-0',
      });
      return current?.status?.podIP ? current : undefined;
    });
    assert.equal(pod.status?.phase, 'Running');
    assert.ok(pod.status?.podIP?.startsWith(`${clusters.podNetworks.east}.`), pod.status?.podIP);
    assert.equal(node.podIp(ns, 'backend-0'), pod.status?.podIP);
    assert.equal(await readUntilEnd(pod.status?.podIP as string, PORT), 'backend-0');

    const slices = () =>
      store.list<EndpointSlice>(KubernetesKinds.EndpointSlice, {
        namespace: ns,
        labelSelector: { matchLabels: { 'kubernetes.io/service-name': 'backend' } },
      });
    const readyEndpoint = await eventually('a ready endpoint for the pod', async () => {
      const endpoint = (await slices()).items
        .flatMap((s) => s.endpoints ?? [])
        .find((e) => e.targetRef?.name === 'backend-0');
      return endpoint?.conditions?.ready === true ? endpoint : undefined;
    });
    assert.deepEqual(readyEndpoint.addresses, [pod.status?.podIP]);

    await node.setReady(ns, 'backend-0', false);
    await eventually('the endpoint to turn not ready', async () => {
      const endpoint = (await slices()).items
        .flatMap((s) => s.endpoints ?? [])
        .find((e) => e.targetRef?.name === 'backend-0');
      return endpoint?.conditions?.ready === false;
    });

    // A graceful deletion completes because the node confirms it, as a kubelet would.
    await store.delete({ ...Kinds.Pod, namespace: ns, name: 'backend-0' });
    await eventually(
      'the pod to be gone',
      async () => (await store.get({ ...Kinds.Pod, namespace: ns, name: 'backend-0' })) === undefined,
    );
    await assert.rejects(
      readUntilEnd(pod.status?.podIP as string, PORT),
      'the pod’s process and address are gone',
    );
    await eventually('its endpoint to be gone', async () =>
      (await slices()).items.every((s) => (s.endpoints ?? []).length === 0),
    );
  });
}

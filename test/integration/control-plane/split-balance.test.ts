import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DestinationServiceHandle,
  startDestinationService,
} from '../../../src/control-plane/destination/start.ts';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import type { TrafficSplit } from '../../../src/core/api/traffic.ts';
import { DestinationService } from '../../../src/gen/strait/destination/v1/destination_pb.js';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import { DestinationResolver } from '../../../src/proxy/discovery/destination.ts';
import { createLogger } from '../../../src/proxy/log.ts';
import { type EndpointHandle, type Target, TargetCache } from '../../../src/proxy/outbound/targets.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { testPki } from './helpers.ts';

const pki = testPki('strait-destination');

function service(name: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { ports: [{ name: 'http', port: 80 }] },
  };
}

function endpoints(name: string, ips: string[]): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'shop' },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080 }] }],
  };
}

/** Waits until the target holds exactly `count` endpoints. */
async function endpointsOf(target: Target, count: number): Promise<readonly EndpointHandle[]> {
  await target.ready(30_000);
  for (let i = 0; i < 600 && target.endpoints.length !== count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(target.endpoints.length, count, `endpoints of ${target.authority}`);
  return target.endpoints;
}

/** Gives each endpoint a latency history, then counts picks per endpoint address. */
function pickCounts(target: Target, latencyMs: Record<string, number>, rounds: number) {
  for (const handle of target.endpoints) handle.ewma.observe(latencyMs[handle.endpoint.address] ?? 1);
  const counts: Record<string, number> = {};
  for (let i = 0; i < rounds; i++) {
    const address = target.pick().endpoint.address;
    counts[address] = (counts[address] ?? 0) + 1;
  }
  return counts;
}

describe('balancing over what the destination service sends', () => {
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  let destination: DestinationServiceHandle;
  let targets: TargetCache;

  before(async () => {
    store = await openLocalStore({});
    for (const name of ['backend', 'backend-west', 'backend-east', 'catalog'])
      await store.create(service(name));
    await store.create(endpoints('backend', ['10.7.0.1']));
    await store.create(endpoints('backend-west', ['10.7.1.1']));
    await store.create(endpoints('backend-east', ['10.7.2.1']));
    await store.create(endpoints('catalog', ['10.7.3.1', '10.7.3.2']));
    await store.create({
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 'backend', namespace: 'shop' },
      spec: {
        service: 'backend',
        backends: [
          { service: 'backend-west', weight: 50 },
          { service: 'backend-east', weight: 50 },
        ],
      },
    } satisfies TrafficSplit);
    destination = await startDestinationService({ store, tls: pki.serverTls, port: 0 });
    const resolver = new DestinationResolver(
      createRpcClient(DestinationService, pki.clientOptions(destination.port)),
    );
    targets = new TargetCache({ resolver, log: createLogger('error'), fallbackDirect: false });
  });

  after(async () => {
    targets.close();
    await destination.close();
    await store.close();
  });

  it('holds a 50/50 split between two single-endpoint backends although one is much faster', async () => {
    const target = targets.get('backend.shop.svc.cluster.local:80');
    const split = await endpointsOf(target, 2);
    assert.deepEqual(split.map((h) => [h.endpoint.address, h.weight, h.group]).sort(), [
      ['10.7.1.1', 500_000, 'shop/backend-west'],
      ['10.7.2.1', 500_000, 'shop/backend-east'],
    ]);
    const counts = pickCounts(target, { '10.7.1.1': 2, '10.7.2.1': 80 }, 10_000);
    const east = (counts['10.7.2.1'] ?? 0) / 10_000;
    assert.ok(east > 0.45 && east < 0.55, `the slower backend's share is ${east}`);
  });

  it('still prefers the faster of two endpoints of one service', async () => {
    const target = targets.get('catalog.shop.svc.cluster.local:80');
    await endpointsOf(target, 2);
    const counts = pickCounts(target, { '10.7.3.1': 2, '10.7.3.2': 80 }, 1_000);
    assert.equal(counts['10.7.3.1'], 1_000);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DestinationServiceHandle,
  startDestinationService,
} from '../../../src/control-plane/destination/start.ts';
import type { Service } from '../../../src/core/api/core.ts';
import type { Workload } from '../../../src/core/api/local.ts';
import { DestinationService, type Update } from '../../../src/gen/strait/destination/v1/destination_pb.js';
import { startEndpointsController } from '../../../src/platform/local/controllers/endpoints-controller.ts';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { reader, testPki } from './helpers.ts';

const pki = testPki('strait-destination');
const BACKEND_ID = 'backend.shop.serviceaccount.identity.strait.cluster.local';
const REF = { apiVersion: 'local.strait.io/v1alpha1', kind: 'Workload', namespace: 'shop', name: 'backend' };

/** A meshed workload as `strait local run` registers it: not ready until its proxy and app answer. */
function backend(ready: boolean): Workload {
  return {
    apiVersion: REF.apiVersion,
    kind: 'Workload',
    metadata: { name: 'backend', namespace: 'shop', labels: { app: 'backend' } },
    spec: {
      serviceAccountName: 'backend',
      ports: [{ name: 'grpc', port: 9090 }],
      address: '127.3.1.2',
      proxy: { inboundPort: 4143, outboundPort: 4140, adminPort: 4191 },
    },
    status: { address: '127.3.1.2', ready },
  };
}

/** What one update says about the back end's address: sent with which identity, or removed. */
function describeUpdate(update: Update): string[] {
  switch (update.update.case) {
    case 'add':
      return update.update.value.addrs.map(
        (a) => `add ${a.addr?.ip}:${a.addr?.port} identity=${a.tlsIdentity || '(none)'}`,
      );
    case 'remove':
      return update.update.value.addrs.map((a) => `remove ${a.ip}:${a.port}`);
    default:
      return [`noEndpoints exists=${update.update.value?.exists}`];
  }
}

describe('destination while a meshed back end restarts', () => {
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  let destination: DestinationServiceHandle;
  const abort = new AbortController();

  before(async () => {
    store = await openLocalStore({});
    await startEndpointsController(store, { signal: abort.signal, log: () => {} });
    const service: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: 'shop' },
      spec: { selector: { app: 'backend' }, ports: [{ name: 'grpc', port: 9090, targetPort: 'grpc' }] },
    };
    await store.create(service);
    destination = await startDestinationService({ store, tls: pki.serverTls, port: 0 });
  });

  after(async () => {
    abort.abort();
    await destination.close();
    await store.close();
  });

  it('never sends the address without its identity: it is removed with the workload and comes back meshed', async () => {
    const client = createRpcClient(DestinationService, pki.clientOptions(destination.port));
    const stream = reader(
      client.get({ path: 'backend.shop.svc.cluster.local:9090' }, { signal: abort.signal }),
    );
    const seen: string[] = [];
    const next = async (what: string) => {
      const lines = describeUpdate(await stream.next(what));
      seen.push(...lines);
      return lines;
    };
    const until = async (what: string, line: string) => {
      while (!(await next(what)).includes(line)) {}
    };
    const meshed = `add 127.3.1.2:9090 identity=${BACKEND_ID}`;

    assert.deepEqual(await next('the first answer'), ['noEndpoints exists=true']);
    for (let round = 1; round <= 3; round++) {
      // Start: registered not ready, then ready.
      const created = await store.create(backend(false));
      await store.updateStatus({ ...created, status: { ...created.status, ready: true } });
      await until(`the back end's address (round ${round})`, meshed);
      // Stop: the workload is deregistered; its Endpoints follow a moment later.
      await store.delete(REF);
      await until(`the address removed (round ${round})`, 'remove 127.3.1.2:9090');
    }
    const plain = seen.filter((line) => line.startsWith('add') && line !== meshed);
    assert.deepEqual(plain, [], `updates were: ${seen.join('; ')}`);
  });
});

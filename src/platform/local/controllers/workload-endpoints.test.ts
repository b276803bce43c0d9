import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Service } from '../../../core/api/core.ts';
import type { Workload } from '../../../core/api/local.ts';
import { Kinds } from '../../../core/kinds.ts';
import { typeMeta } from '../type-meta.ts';
import { desiredEndpoints } from './workload-endpoints.ts';

const service: Service = {
  ...typeMeta(Kinds.Service),
  metadata: { name: 'web', namespace: 'shop', uid: 'svc-uid' },
  spec: {
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'metrics', port: 9090 },
    ],
  },
};

function workload(name: string, address: string, port: number, ready: boolean, app = 'web'): Workload {
  return {
    ...typeMeta(Kinds.Workload),
    metadata: { name, namespace: 'shop', uid: `${name}-uid`, labels: { app } },
    spec: { serviceAccountName: 'web', ports: [{ name: 'http', port }] },
    status: { address, ready },
  };
}

describe('desiredEndpoints()', () => {
  it('lists ready workloads as addresses and the rest as not ready, resolving named ports', () => {
    const endpoints = desiredEndpoints(service, [
      workload('web-a', '127.1.1.1', 8080, true),
      workload('web-b', '127.1.1.2', 8080, false),
      workload('other', '127.1.1.3', 8080, true, 'other'),
    ]);
    assert.deepEqual(endpoints?.subsets, [
      {
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9090, protocol: 'TCP' },
        ],
        addresses: [
          {
            ip: '127.1.1.1',
            hostname: 'web-a',
            targetRef: { kind: 'Workload', name: 'web-a', namespace: 'shop', uid: 'web-a-uid' },
          },
        ],
        notReadyAddresses: [
          {
            ip: '127.1.1.2',
            hostname: 'web-b',
            targetRef: { kind: 'Workload', name: 'web-b', namespace: 'shop', uid: 'web-b-uid' },
          },
        ],
      },
    ]);
    assert.equal(endpoints?.metadata.ownerReferences?.[0]?.uid, 'svc-uid');
  });

  it('splits workloads whose named port differs into separate subsets', () => {
    const endpoints = desiredEndpoints(service, [
      workload('web-a', '127.1.1.1', 8080, true),
      workload('web-b', '127.1.1.2', 8081, true),
    ]);
    assert.deepEqual(
      endpoints?.subsets?.map((s) => [s.ports?.[0]?.port, s.addresses?.map((a) => a.ip)]),
      [
        [8080, ['127.1.1.1']],
        [8081, ['127.1.1.2']],
      ],
    );
  });

  it('gives empty Endpoints when nothing is selected, and none for services without a selector', () => {
    assert.equal(desiredEndpoints(service, [])?.subsets, undefined);
    const mirror: Service = { ...service, spec: { ports: service.spec?.ports ?? [] } };
    assert.equal(desiredEndpoints(mirror, [workload('web-a', '127.1.1.1', 8080, true)]), undefined);
  });

  it('leaves out workloads being deleted or without an address', () => {
    const leaving = workload('web-a', '127.1.1.1', 8080, true);
    leaving.metadata.deletionTimestamp = new Date().toISOString();
    const unplaced = workload('web-b', '127.1.1.2', 8080, true);
    delete unplaced.status;
    assert.equal(desiredEndpoints(service, [leaving, unplaced])?.subsets, undefined);
  });
});

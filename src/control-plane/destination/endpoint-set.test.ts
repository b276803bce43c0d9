import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Endpoints, Service } from '../../core/api/core.ts';
import type { Workload } from '../../core/api/local.ts';
import { ipEndpointSet, serviceEndpointSet } from './endpoint-set.ts';
import { DestinationState } from './state.ts';
import type { Pod } from './workloads.ts';

const ID = (sa: string, ns = 'shop') => `${sa}.${ns}.serviceaccount.identity.strait.cluster.local`;

function service(
  name: string,
  extra: Partial<Service['metadata']> = {},
  ports = [{ name: 'http', port: 8080 }],
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', ...extra },
    spec: { ports },
  };
}

/** A mirror of `remoteFqName` from cluster east; the label spelling of a mirror may be Linkerd's. */
function mirror(
  name: string,
  remoteFqName: string,
  gatewayIdentity: string,
  mirroredLabel = 'mirror.strait.io/mirrored-service',
): Service {
  return service(name, {
    labels: { [mirroredLabel]: 'true', 'mirror.strait.io/cluster-name': 'east' },
    annotations: {
      'mirror.strait.io/remote-svc-fq-name': remoteFqName,
      'mirror.strait.io/remote-gateway-identity': gatewayIdentity,
    },
  });
}

function endpoints(name: string, subsets: NonNullable<Endpoints['subsets']>): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'shop' }, subsets };
}

function workload(name: string, ip: string, meshed = true): Workload {
  return {
    apiVersion: 'local.strait.io/v1alpha1',
    kind: 'Workload',
    metadata: { name, namespace: 'shop' },
    spec: {
      serviceAccountName: 'web',
      ports: [{ port: 8080 }],
      ...(meshed ? { proxy: { inboundPort: 14143, outboundPort: 4140, adminPort: 4191 } } : {}),
    },
    status: { address: ip },
  };
}

function state(...objects: (Service | Endpoints | Workload | Pod)[]): DestinationState {
  const s = new DestinationState({ trustDomain: 'cluster.local', controlPlaneNamespace: 'strait' });
  for (const object of objects) s.apply(object, false);
  return s;
}

const target = { kind: 'service', namespace: 'shop', name: 'web', port: 8080 } as const;

/** The endpoints of `target` (web, port 8080) as `s` has them now. */
const webSet = (s: DestinationState) =>
  serviceEndpointSet(target, s.service('shop', 'web'), s.endpoints('shop', 'web'), s);

test('meshed workload endpoints carry identity, h2 and the peer proxy inbound port; not-ready ones are left out', () => {
  const s = state(
    service('web'),
    endpoints('web', [
      {
        addresses: [
          { ip: '127.1.0.5', targetRef: { kind: 'Workload', name: 'web-1' } },
          { ip: '127.1.0.6', targetRef: { kind: 'Workload', name: 'plain' } },
        ],
        notReadyAddresses: [{ ip: '127.1.0.7', targetRef: { kind: 'Workload', name: 'web-2' } }],
        ports: [{ name: 'http', port: 18080 }],
      },
    ]),
    workload('web-1', '127.1.0.5'),
    workload('plain', '127.1.0.6', false),
  );
  const set = webSet(s);
  assert.equal(set.exists, true);
  assert.deepEqual(set.labels, { namespace: 'shop', service: 'web' });
  assert.deepEqual([...set.addrs.keys()].sort(), ['127.1.0.5:18080', '127.1.0.6:18080']);
  const meshed = set.addrs.get('127.1.0.5:18080');
  assert.equal(meshed?.tlsIdentity, ID('web'));
  assert.equal(meshed?.protocolHint, 'h2');
  assert.equal(meshed?.opaqueTransportPort, 14143);
  const plain = set.addrs.get('127.1.0.6:18080');
  assert.equal(plain?.tlsIdentity, '');
  assert.equal(plain?.protocolHint, 'none');
  assert.equal(plain?.opaqueTransportPort, 0);
});

test('pods are meshed by their strait-proxy container; opaque ports get the opaque hint', () => {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', namespace: 'shop' },
    spec: { serviceAccountName: 'db', containers: [{ name: 'db' }, { name: 'strait-proxy' }] },
    status: { podIP: '10.0.0.9' },
  };
  const eps = endpoints('db', [
    { addresses: [{ ip: '10.0.0.9', targetRef: { kind: 'Pod', name: 'db-0' } }], ports: [{ port: 5432 }] },
  ]);
  const svc = service('db', { annotations: { 'config.linkerd.io/opaque-ports': '5432' } }, [
    { name: '', port: 5432 },
  ]);
  const s = state(svc, eps, pod);
  const set = serviceEndpointSet({ ...target, name: 'db', port: 5432 }, svc, eps, s);
  const addr = set.addrs.get('10.0.0.9:5432');
  assert.equal(addr?.tlsIdentity, ID('db'));
  assert.equal(addr?.protocolHint, 'opaque');
  assert.equal(addr?.opaqueTransportPort, 4143);
  assert.deepEqual(addr?.labels, { pod: 'db-0', serviceaccount: 'db' });
});

test('mirror endpoints point at the remote gateway with the authority override and gateway identity', () => {
  const svc = mirror(
    'web-east',
    'web.shop.svc.east.local',
    'strait-gateway.strait-multicluster.serviceaccount.identity.strait.east.local',
    'mirror.linkerd.io/mirrored-service',
  );
  const eps = endpoints('web-east', [
    { addresses: [{ ip: '127.2.0.1' }], ports: [{ name: 'http', port: 4143 }] },
  ]);
  const s = state(svc, eps);
  const set = serviceEndpointSet({ ...target, name: 'web-east' }, svc, eps, s);
  assert.equal(set.labels.target_cluster, 'east');
  const addr = set.addrs.get('127.2.0.1:4143');
  assert.equal(addr?.authorityOverride, 'web.shop.svc.east.local:8080');
  assert.equal(
    addr?.tlsIdentity,
    'strait-gateway.strait-multicluster.serviceaccount.identity.strait.east.local',
  );
  assert.equal(addr?.opaqueTransportPort, 4143);
  assert.equal(addr?.protocolHint, 'h2');
});

test('a hostname target picks that endpoint; on a headless mirror its override names the remote pod', () => {
  const svc = mirror(
    'db-east',
    'db.shop.svc.east.local',
    'gw.strait-multicluster.serviceaccount.identity.strait.east.local',
  );
  const eps = endpoints('db-east', [
    {
      addresses: ['db-0', 'db-1'].map((hostname) => ({
        ip: '127.2.0.1',
        hostname,
        targetRef: { kind: 'Service', name: `${hostname}-east` },
      })),
      ports: [{ name: 'http', port: 4143 }],
    },
  ]);
  const s = state(svc, eps);
  const set = serviceEndpointSet({ ...target, name: 'db-east', hostname: 'db-1' }, svc, eps, s);
  assert.deepEqual(
    [...set.addrs.values()].map((a) => a.authorityOverride),
    ['db-1.db.shop.svc.east.local:8080'],
  );
  const none = serviceEndpointSet({ ...target, name: 'db-east', hostname: 'db-9' }, svc, eps, s);
  assert.equal(none.addrs.size, 0);
});

test('an unknown service does not exist; an IP target is meshed when a workload has that IP', () => {
  const s = state(workload('web-1', '127.1.0.5'));
  assert.equal(serviceEndpointSet(target, undefined, undefined, s).exists, false);
  const meshed = ipEndpointSet({ kind: 'ip', ip: '127.1.0.5', port: 8080 }, s).addrs.get('127.1.0.5:8080');
  assert.equal(meshed?.tlsIdentity, ID('web'));
  assert.equal(meshed?.opaqueTransportPort, 14143);
  const unknown = ipEndpointSet({ kind: 'ip', ip: '127.9.9.9', port: 80 }, s).addrs.get('127.9.9.9:80');
  assert.equal(unknown?.tlsIdentity, '');
});

test('an address whose Workload or Pod is not known is held back until it is; other references go plain', () => {
  const s = state(
    service('web'),
    endpoints('web', [
      {
        addresses: [
          { ip: '127.1.0.5', targetRef: { kind: 'Workload', name: 'web-1' } },
          { ip: '10.0.0.9', targetRef: { kind: 'Pod', name: 'web-0' } },
          { ip: '10.0.0.10', targetRef: { kind: 'ExternalHost', name: 'legacy' } },
          { ip: '10.0.0.11' },
        ],
        ports: [{ name: 'http', port: 18080 }],
      },
    ]),
  );
  const early = webSet(s);
  assert.deepEqual([...early.addrs.keys()].sort(), ['10.0.0.10:18080', '10.0.0.11:18080']);
  for (const addr of early.addrs.values()) assert.equal(addr.tlsIdentity, '');

  s.apply(workload('web-1', '127.1.0.5'), false);
  assert.equal(webSet(s).addrs.get('127.1.0.5:18080')?.tlsIdentity, ID('web'));
  s.apply(workload('web-1', '127.1.0.5'), true);
  assert.equal(webSet(s).addrs.has('127.1.0.5:18080'), false, 'gone with its workload');
});

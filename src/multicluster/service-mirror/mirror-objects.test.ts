import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serviceEndpointSet } from '../../control-plane/destination/endpoint-set.ts';
import { DestinationState } from '../../control-plane/destination/state.ts';
import type { Endpoints, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import { linkConfig } from '../link/link-config.ts';
import { diffEndpoints, diffService } from './diff.ts';
import { buildMirror, type MirrorContext } from './mirror-objects.ts';

const GATEWAY_ID = 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local';
const link: Link = {
  apiVersion: 'multicluster.strait.io/v1alpha1',
  kind: 'Link',
  metadata: { name: 'east', namespace: 'strait-multicluster' },
  spec: {
    targetClusterName: 'east',
    targetClusterDomain: 'east.local',
    clusterCredentialsSecret: 'creds',
    gatewayAddress: '10.0.0.9',
    gatewayPort: 4143,
    gatewayIdentity: GATEWAY_ID,
    probeSpec: { path: '/ready', port: 4191, period: '3s', timeout: '2s', failureThreshold: 3 },
  },
};
const context: MirrorContext = { config: linkConfig(link), gatewayIps: ['10.0.0.9'], gatewayAlive: true };

const backend: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'backend',
    namespace: 'shop',
    labels: { app: 'backend', 'mirror.strait.io/exported': 'true' },
    annotations: { 'config.strait.io/opaque-ports': '9000', 'service.kubernetes.io/topology-mode': 'Auto' },
  },
  spec: {
    selector: { app: 'backend' },
    ports: [
      { name: 'http', port: 8080, targetPort: 80, nodePort: 30080 },
      { name: 'grpc', port: 9000 },
    ],
  },
};
const ready: Endpoints = {
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'backend', namespace: 'shop' },
  subsets: [{ addresses: [{ ip: '10.1.0.4' }], ports: [{ port: 80 }] }],
};

describe('mirror objects', () => {
  it('mirrors a service as <svc>-<cluster> at the gateway', () => {
    const { service, endpoints, endpointMirrors } = buildMirror(backend, ready, context);
    assert.equal(service.metadata.name, 'backend-east');
    assert.equal(service.metadata.namespace, 'shop');
    assert.deepEqual(service.metadata.labels, {
      app: 'backend',
      'mirror.strait.io/mirrored-service': 'true',
      'mirror.strait.io/cluster-name': 'east',
    });
    assert.deepEqual(service.metadata.annotations, {
      'config.strait.io/opaque-ports': '9000',
      'mirror.strait.io/remote-svc-fq-name': 'backend.shop.svc.east.local',
      'mirror.strait.io/remote-gateway-identity': GATEWAY_ID,
    });
    assert.equal(service.spec?.selector, undefined);
    assert.deepEqual(service.spec?.ports, [
      { name: 'http', port: 8080, targetPort: 80, protocol: 'TCP' },
      { name: 'grpc', port: 9000, protocol: 'TCP' },
    ]);
    assert.deepEqual(endpoints.subsets, [
      {
        addresses: [{ ip: '10.0.0.9' }],
        ports: [
          { name: 'http', port: 4143, protocol: 'TCP' },
          { name: 'grpc', port: 4143, protocol: 'TCP' },
        ],
      },
    ]);
    assert.equal(endpoints.metadata.annotations?.['mirror.strait.io/remote-gateway-identity'], GATEWAY_ID);
    assert.deepEqual(endpointMirrors, []);
  });

  it('moves addresses to notReadyAddresses while the gateway is down', () => {
    const { endpoints } = buildMirror(backend, ready, { ...context, gatewayAlive: false });
    assert.deepEqual(endpoints.subsets?.[0]?.notReadyAddresses, [{ ip: '10.0.0.9' }]);
    assert.equal(endpoints.subsets?.[0]?.addresses, undefined);
  });

  it('has no endpoints when the remote service has no ready endpoint', () => {
    assert.deepEqual(buildMirror(backend, undefined, context).endpoints.subsets, []);
  });

  it('records the original name of a shortened mirror', () => {
    const long = { ...backend, metadata: { ...backend.metadata, name: `backend-${'x'.repeat(60)}` } };
    const { service } = buildMirror(long, ready, context);
    assert.ok(service.metadata.name.length <= 63);
    assert.equal(service.metadata.annotations?.['mirror.strait.io/original-name'], long.metadata.name);
  });

  it('mirrors a headless service with one endpoint mirror per pod', () => {
    const headless: Service = { ...backend, spec: { clusterIP: 'None', ports: [{ name: 'web', port: 80 }] } };
    const pods: Endpoints = {
      ...ready,
      subsets: [
        {
          addresses: [
            { ip: '10.1.0.5', hostname: 'web-1' },
            { ip: '10.1.0.4', hostname: 'web-0' },
          ],
          ports: [{ name: 'web', port: 80 }],
        },
      ],
    };
    const { service, endpoints, endpointMirrors } = buildMirror(headless, pods, context);
    assert.equal(service.spec?.clusterIP, 'None');
    assert.deepEqual(
      endpointMirrors.map((m) => [
        m.service.metadata.name,
        m.service.metadata.annotations?.['mirror.strait.io/remote-svc-fq-name'],
        m.service.metadata.labels?.['mirror.strait.io/headless-mirror-svc-name'],
        m.endpoints.subsets?.[0]?.addresses,
      ]),
      [
        ['web-0-east', 'web-0.backend.shop.svc.east.local', 'backend-east', [{ ip: '10.0.0.9' }]],
        ['web-1-east', 'web-1.backend.shop.svc.east.local', 'backend-east', [{ ip: '10.0.0.9' }]],
      ],
    );
    assert.deepEqual(
      endpoints.subsets?.[0]?.addresses?.map((a) => [a.hostname, a.ip, a.targetRef?.name]),
      [
        ['web-0', '10.0.0.9', 'web-0-east'],
        ['web-1', '10.0.0.9', 'web-1-east'],
      ],
    );
    // A pod's name resolves to its address here, so it is at the gateway's port.
    assert.deepEqual(endpoints.subsets?.[0]?.ports, [{ name: 'web', port: 4143, protocol: 'TCP' }]);
    const down = buildMirror(headless, pods, { ...context, gatewayAlive: false }).endpoints;
    assert.equal(down.subsets?.[0]?.addresses, undefined);
    assert.deepEqual(
      down.subsets?.[0]?.notReadyAddresses?.map((a) => a.hostname),
      ['web-0', 'web-1'],
    );
  });
});

describe('what destination makes of a headless mirror', () => {
  const headless: Service = { ...backend, spec: { clusterIP: 'None', ports: [{ name: 'web', port: 80 }] } };
  const pods: Endpoints = {
    ...ready,
    subsets: [
      {
        addresses: [
          { ip: '10.1.0.4', hostname: 'web-0' },
          { ip: '10.1.0.5', hostname: 'web-1' },
        ],
        ports: [{ name: 'web', port: 80 }],
      },
    ],
  };
  const resolve = (hostname: string | undefined, mirrorContext = context) => {
    const { service, endpoints } = buildMirror(headless, pods, mirrorContext);
    const target = { kind: 'service', namespace: 'shop', name: 'backend-east', port: 80 } as const;
    const set = serviceEndpointSet(
      hostname ? { ...target, hostname } : target,
      service,
      endpoints,
      new DestinationState({ trustDomain: 'cluster.local', controlPlaneNamespace: 'strait' }),
    );
    return [...set.addrs.values()].map((a) => ({
      at: `${a.ip}:${a.port}`,
      identity: a.tlsIdentity,
      override: a.authorityOverride,
      transport: a.opaqueTransportPort,
    }));
  };

  it('<pod>.<svc>-<cluster> is the gateway, with that pod’s remote name as the authority', () => {
    assert.deepEqual(resolve('web-1'), [
      {
        at: '10.0.0.9:4143',
        identity: GATEWAY_ID,
        override: 'web-1.backend.shop.svc.east.local:80',
        transport: 4143,
      },
    ]);
  });

  it('the headless mirror itself is the gateway, with the remote service’s name', () => {
    assert.deepEqual(
      resolve(undefined).map((a) => [a.at, a.override]),
      [['10.0.0.9:4143', 'backend.shop.svc.east.local:80']],
    );
  });

  it('an unknown pod or a gateway that is down resolves to nothing', () => {
    assert.deepEqual(resolve('web-7'), []);
    assert.deepEqual(resolve('web-0', { ...context, gatewayAlive: false }), []);
  });
});

describe('mirror diffing', () => {
  it('creates what is missing and leaves what is current', () => {
    const { service, endpoints } = buildMirror(backend, ready, context);
    assert.equal(diffService(undefined, service).action, 'create');
    const stored = { ...service, metadata: { ...service.metadata, resourceVersion: '7', uid: 'u' } };
    assert.equal(diffService(stored, service).action, 'none');
    assert.equal(diffEndpoints({ ...endpoints }, endpoints).action, 'none');
  });

  it('updates ports and metadata in place, keeping server-set fields', () => {
    const { service } = buildMirror(backend, ready, context);
    const stored: Service = {
      ...service,
      metadata: { ...service.metadata, resourceVersion: '7' },
      spec: { ports: [{ port: 1 }], clusterIP: '10.96.0.3' },
    };
    const change = diffService(stored, service);
    assert.equal(change.action, 'update');
    if (change.action !== 'update') return;
    assert.equal(change.object.metadata.resourceVersion, '7');
    assert.equal(change.object.spec?.clusterIP, '10.96.0.3');
    assert.deepEqual(change.object.spec?.ports, service.spec?.ports);
  });

  it('replaces a mirror that changes between headless and ClusterIP', () => {
    const { service } = buildMirror(backend, ready, context);
    const headless = { ...service, spec: { ...service.spec, ports: [], clusterIP: 'None' } };
    assert.equal(diffService(headless, service).action, 'replace');
  });

  it('updates endpoints when readiness changes', () => {
    const up = buildMirror(backend, ready, context).endpoints;
    const down = buildMirror(backend, ready, { ...context, gatewayAlive: false }).endpoints;
    const change = diffEndpoints(up, down);
    assert.equal(change.action, 'update');
    if (change.action === 'update') assert.deepEqual(change.object.subsets, down.subsets);
  });
});

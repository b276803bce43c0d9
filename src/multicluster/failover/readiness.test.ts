import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoints, Service } from '../../core/api/core.ts';
import type { Link } from '../../core/api/multicluster.ts';
import { backendReadiness, gatewayAlive } from './readiness.ts';

const svc = (labels?: Record<string, string>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web-east', namespace: 'shop', ...(labels ? { labels } : {}) },
  spec: { ports: [{ port: 80 }] },
});
const eps = (ready: boolean): Endpoints => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'web-east', namespace: 'shop' },
  subsets: [ready ? { addresses: [{ ip: '10.0.0.1' }] } : { notReadyAddresses: [{ ip: '10.0.0.1' }] }],
});
const link = (status: Link['status']): Link => ({
  apiVersion: 'multicluster.strait.io/v1alpha1',
  kind: 'Link',
  metadata: { name: 'east', namespace: 'strait-multicluster' },
  spec: { targetClusterName: 'east' } as Link['spec'],
  status,
});
const linkerdMirror = {
  'mirror.linkerd.io/mirrored-service': 'true',
  'mirror.linkerd.io/cluster-name': 'east',
};

describe('backend readiness', () => {
  it('needs ready addresses for a local service', () => {
    assert.deepEqual(backendReadiness(svc(), eps(true), []), { ready: true });
    assert.deepEqual(backendReadiness(svc(), eps(false), []), { ready: false, reason: 'no ready endpoints' });
    assert.deepEqual(backendReadiness(svc(), undefined, []), { ready: false, reason: 'no Endpoints' });
  });

  it('needs an alive gateway for a mirror, with Linkerd labels too', () => {
    const alive = link({ gatewayAlive: true });
    assert.deepEqual(backendReadiness(svc(linkerdMirror), eps(true), [alive]), {
      ready: true,
      cluster: 'east',
    });
    assert.deepEqual(backendReadiness(svc(linkerdMirror), eps(true), [link({ gatewayAlive: false })]), {
      ready: false,
      reason: 'gateway of cluster east is not alive',
      cluster: 'east',
    });
    assert.equal(backendReadiness(svc(linkerdMirror), eps(true), [])?.reason, 'no Link to cluster east');
    assert.equal(
      backendReadiness(svc(linkerdMirror), eps(false), [alive])?.reason,
      'no ready endpoints in cluster east',
    );
  });

  it('reads gateway liveness from a condition when the flag is absent', () => {
    const condition = (status: 'True' | 'False') => ({
      conditions: [{ type: 'GatewayAlive', status, reason: 'Probe', message: '', lastTransitionTime: '' }],
    });
    assert.equal(gatewayAlive(link(condition('False'))), false);
    assert.equal(gatewayAlive(link(condition('True'))), true);
    assert.equal(gatewayAlive(link(undefined)), true);
  });
});

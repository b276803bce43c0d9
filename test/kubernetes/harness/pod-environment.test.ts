// How the harness node resolves a container's environment: no cluster needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from './node.ts';
import { containerEnvironment, type EnvironmentOptions } from './pod-environment.ts';

const pod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-0', namespace: 'shop' },
  spec: { serviceAccountName: 'web' } as Pod['spec'],
};

const options = (overrides: Partial<EnvironmentOptions> = {}): EnvironmentOptions => ({
  pod,
  ip: '198.18.4.7',
  mounts: new Map([['/var/run/strait/identity/token', '/dev/shm/pods/shop_web-0/strait-identity-token']]),
  services: new Map([['strait-identity.strait.svc.cluster.local:8080', '127.0.0.1:41234']]),
  ...overrides,
});

describe('harness node: container environment', () => {
  it('resolves fieldRefs and $(VAR) references to earlier entries, leaving unknown ones as written', () => {
    const env = containerEnvironment(
      [
        { name: '_ns', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: '_sa', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'IDENTITY', value: '$(_sa).$(_ns).serviceaccount' },
        { name: 'LATER', value: '$(UNSET)-$(IDENTITY)' },
      ],
      options(),
    );
    assert.equal(env.IP, '198.18.4.7');
    assert.equal(env.IDENTITY, 'web.shop.serviceaccount');
    assert.equal(env.LATER, '$(UNSET)-web.shop.serviceaccount');
  });

  it('binds wildcard and loopback listen addresses to the pod address', () => {
    const env = containerEnvironment(
      [
        { name: 'INBOUND', value: '0.0.0.0:4143' },
        { name: 'OUTBOUND', value: '127.0.0.1:4140' },
        { name: 'ELSEWHERE', value: '10.0.0.1:4140' },
      ],
      options(),
    );
    assert.deepEqual(env, {
      INBOUND: '198.18.4.7:4143',
      OUTBOUND: '198.18.4.7:4140',
      ELSEWHERE: '10.0.0.1:4140',
    });
  });

  it('points paths under a mount into the node’s copy, and registered Services at their address', () => {
    const env = containerEnvironment(
      [
        { name: 'TOKEN', value: '/var/run/strait/identity/token/token' },
        { name: 'NEAR_MISS', value: '/var/run/strait/identity/tokens' },
        { name: 'IDENTITY_ADDR', value: 'strait-identity.strait.svc.cluster.local:8080' },
        { name: 'POLICY_ADDR', value: 'strait-policy.strait.svc.cluster.local:8090' },
      ],
      options(),
    );
    assert.equal(env.TOKEN, '/dev/shm/pods/shop_web-0/strait-identity-token/token');
    assert.equal(env.NEAR_MISS, '/var/run/strait/identity/tokens');
    assert.equal(env.IDENTITY_ADDR, '127.0.0.1:41234');
    assert.equal(env.POLICY_ADDR, 'strait-policy.strait.svc.cluster.local:8090');
  });

  it('refuses a fieldRef the node does not know, naming the pod and the field', () => {
    assert.throws(
      () =>
        containerEnvironment(
          [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          options(),
        ),
      /pod web-0: fieldRef spec\.nodeName is not supported by the node/,
    );
  });
});

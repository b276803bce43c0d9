import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Link } from '../../core/api/multicluster.ts';
import { InvalidLinkError, isExported, linkConfig } from './link-config.ts';

function link(spec: Record<string, unknown>): Link {
  return {
    apiVersion: 'multicluster.strait.io/v1alpha1',
    kind: 'Link',
    metadata: { name: 'east', namespace: 'strait-multicluster' },
    spec: {
      targetClusterName: 'east',
      clusterCredentialsSecret: 'cluster-credentials-east',
      gatewayAddress: '127.0.0.1',
      gatewayIdentity: 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local',
      ...spec,
    } as never,
  };
}

describe('link configuration', () => {
  it('applies the documented defaults', () => {
    const config = linkConfig(link({}));
    assert.equal(config.targetClusterDomain, 'cluster.local');
    assert.equal(config.gatewayPort, 4143);
    assert.deepEqual(config.probe, {
      path: '/ready',
      port: 4191,
      periodMs: 3000,
      timeoutMs: 2000,
      failureThreshold: 3,
    });
    assert.deepEqual(config.gatewayAddresses, ['127.0.0.1']);
  });

  it('splits comma-separated gateway addresses', () => {
    const config = linkConfig(link({ gatewayAddress: ' 10.0.0.1, gw.example.com ,' }));
    assert.deepEqual(config.gatewayAddresses, ['10.0.0.1', 'gw.example.com']);
  });

  it('names the field that is wrong', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ targetClusterName: 'East_1' }, /targetClusterName "East_1"/],
      [{ gatewayAddress: '' }, /gatewayAddress names no address/],
      [{ gatewayPort: 70000 }, /gatewayPort 70000 is not a port/],
      [{ probeSpec: { period: 'soon' } }, /probeSpec.period/],
      [{ probeSpec: { failureThreshold: 0 } }, /failureThreshold must be a positive integer/],
      [{ clusterCredentialsSecret: '' }, /clusterCredentialsSecret is required/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(
        () => linkConfig(link(spec)),
        (error: unknown) =>
          error instanceof InvalidLinkError && error.code === 'E_LINK_INVALID' && message.test(error.message),
      );
    }
  });

  it('exports by the default label, accepting the Linkerd alias', () => {
    const config = linkConfig(link({}));
    assert.equal(isExported(config, { 'mirror.strait.io/exported': 'true' }), true);
    assert.equal(isExported(config, { 'mirror.linkerd.io/exported': 'true' }), true);
    assert.equal(isExported(config, { 'mirror.strait.io/exported': 'false' }), false);
    assert.equal(isExported(config, undefined), false);
  });

  it('uses a custom selector and treats an empty one as exporting nothing', () => {
    const custom = linkConfig(link({ selector: { matchLabels: { tier: 'public' } } }));
    assert.equal(isExported(custom, { tier: 'public' }), true);
    assert.equal(isExported(custom, { 'mirror.strait.io/exported': 'true' }), false);
    const empty = linkConfig(link({ selector: {} }));
    assert.equal(isExported(empty, { anything: 'x' }), false);
  });
});

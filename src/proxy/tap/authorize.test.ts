import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TAP_CLIENTS, isLoopbackHost, tapClientMatcher } from './authorize.ts';

describe('tap authorization', () => {
  it('admits the control-plane namespace by default, in any trust domain, and nobody else', () => {
    const allowed = tapClientMatcher(DEFAULT_TAP_CLIENTS);
    assert.equal(allowed('tap.strait.serviceaccount.identity.strait.cluster.local'), true);
    assert.equal(allowed('strait-destination.strait.serviceaccount.identity.east.example'), true);
    assert.equal(allowed('web.shop.serviceaccount.identity.strait.cluster.local'), false);
    assert.equal(allowed('a.b.strait.serviceaccount.identity.strait.cluster.local'), false, 'one label only');
    assert.equal(allowed('tap.strait-multicluster.serviceaccount.identity.cluster.local'), false);
    assert.equal(allowed(undefined), false);
  });

  it('takes exact identities', () => {
    const allowed = tapClientMatcher(['ops.team.serviceaccount.identity.cluster.local']);
    assert.equal(allowed('ops.team.serviceaccount.identity.cluster.local'), true);
    assert.equal(allowed('ops.team.serviceaccount.identity.cluster.localx'), false);
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.0.7', '::1', 'localhost'])
      assert.equal(isLoopbackHost(host), true);
    for (const host of ['0.0.0.0', '10.0.0.3', '::', '128.0.0.1']) assert.equal(isLoopbackHost(host), false);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorize, PolicyStore, type PortPolicy } from './authorize.ts';
import { identityMatcher } from './identity-match.ts';

const web = 'web.shop.serviceaccount.identity.strait.cluster.local';
const policy: PortPolicy = {
  name: 'api-http',
  authorizations: [
    {
      name: 'shop-clients',
      networks: [{ net: '10.0.0.0/8', except: ['10.9.0.0/16'] }],
      authentication: {
        kind: 'identities',
        identities: [],
        suffixes: ['shop.serviceaccount.identity.strait.cluster.local'],
      },
    },
    { name: 'probes', networks: [{ net: '127.0.0.1/32' }], authentication: { kind: 'unauthenticated' } },
  ],
};

describe('inbound authorization', () => {
  it('admits by identity suffix within the networks, minus exceptions', () => {
    assert.equal(authorize(policy, { identity: web, address: '10.1.2.3' })?.name, 'shop-clients');
    assert.equal(authorize(policy, { identity: web, address: '10.9.0.1' }), undefined);
    assert.equal(
      authorize(policy, {
        identity: 'x.other.serviceaccount.identity.strait.cluster.local',
        address: '10.1.2.3',
      }),
      undefined,
    );
    assert.equal(authorize(policy, { identity: undefined, address: '10.1.2.3' }), undefined);
  });

  it('admits unauthenticated clients only where allowed, including IPv4-mapped addresses', () => {
    assert.equal(authorize(policy, { identity: undefined, address: '::ffff:127.0.0.1' })?.name, 'probes');
    assert.equal(authorize(policy, { identity: undefined, address: '192.168.1.1' }), undefined);
  });

  it('waits for a discovered policy and denies when none comes', async () => {
    const store = new PolicyStore({
      discover: (port, s) => port === 1 && setTimeout(() => s.set(1, policy), 10),
      waitMs: 200,
    });
    assert.equal((await store.get(1)).name, 'api-http');
    assert.equal((await store.get(2)).name, 'default:deny');
  });

  it('matches trusted forwarders by exact name or prefix', () => {
    const trusted = identityMatcher(['strait-gateway.strait-multicluster.serviceaccount.identity.*', web]);
    assert.ok(trusted('strait-gateway.strait-multicluster.serviceaccount.identity.strait.east.local'));
    assert.ok(trusted(web));
    assert.ok(!trusted('strait-gateway.shop.serviceaccount.identity.strait.cluster.local'));
    assert.ok(!trusted(undefined));
  });
});

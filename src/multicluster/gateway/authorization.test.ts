import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayConfigError, gatewayAuthorization } from './authorization.ts';
import { GatewayRefusedError, gatewayTarget } from './target.ts';

const web = 'web.shop.serviceaccount.identity.strait.cluster.local';

describe('gateway authorization', () => {
  it('admits any meshed client from anywhere by default', () => {
    assert.equal(gatewayAuthorization().check(web, '203.0.113.9'), undefined);
  });

  it('admits exact identities and suffixes only', () => {
    const auth = gatewayAuthorization({
      identities: [
        'api.ops.serviceaccount.identity.strait.cluster.local',
        '*.shop.serviceaccount.identity.strait.cluster.local',
      ],
    });
    assert.equal(auth.check(web, '127.0.0.1'), undefined);
    assert.equal(auth.check('api.ops.serviceaccount.identity.strait.cluster.local', '127.0.0.1'), undefined);
    assert.match(
      auth.check('x.billing.serviceaccount.identity.strait.cluster.local', '127.0.0.1') ?? '',
      /not allowed/,
    );
  });

  it('admits listed source networks, IPv4 mapped into IPv6 included', () => {
    const auth = gatewayAuthorization({ networks: ['10.0.0.0/8', 'fd00::/8'] });
    assert.equal(auth.check(web, '10.2.3.4'), undefined);
    assert.equal(auth.check(web, '::ffff:10.2.3.4'), undefined);
    assert.equal(auth.check(web, 'fd00::1'), undefined);
    assert.match(auth.check(web, '192.168.1.1') ?? '', /not in an allowed network/);
    assert.match(auth.check(web, undefined) ?? '', /not in an allowed network/);
  });

  it('names a network that is not a CIDR', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'example.com/8']) {
      assert.throws(
        () => gatewayAuthorization({ networks: [bad] }),
        (error: unknown) => error instanceof GatewayConfigError && error.message.includes(bad),
      );
    }
  });
});

describe('gateway targets', () => {
  it('accepts services and pods of its own cluster', () => {
    assert.equal(
      gatewayTarget('backend.shop.svc.east.local', 8080, 'east.local'),
      'backend.shop.svc.east.local:8080',
    );
    assert.equal(
      gatewayTarget('db-0.db.shop.svc.east.local', 5432, 'east.local'),
      'db-0.db.shop.svc.east.local:5432',
    );
  });

  it('refuses other domains, bare names and empty names', () => {
    for (const name of [
      'backend.shop.svc.west.local',
      'shop.svc.east.local',
      'a.b.c.d.svc.east.local',
      '',
      'evil.com',
    ]) {
      assert.throws(() => gatewayTarget(name, 80, 'east.local'), GatewayRefusedError, name);
    }
  });
});

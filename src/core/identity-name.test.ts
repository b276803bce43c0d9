import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identityName, isIdentityName, parseIdentityName } from './identity-name.ts';

describe('identity names', () => {
  it('builds names with the default control-plane namespace and trust domain', () => {
    assert.equal(
      identityName({ serviceAccount: 'web', namespace: 'shop' }),
      'web.shop.serviceaccount.identity.strait.cluster.local',
    );
    assert.equal(
      identityName({
        serviceAccount: 'gw',
        namespace: 'mc',
        controlPlaneNamespace: 'cp',
        trustDomain: 'east.example',
      }),
      'gw.mc.serviceaccount.identity.cp.east.example',
    );
  });

  it('parses names back into their parts', () => {
    assert.deepEqual(parseIdentityName('web.shop.serviceaccount.identity.strait.cluster.local'), {
      serviceAccount: 'web',
      namespace: 'shop',
      controlPlaneNamespace: 'strait',
      trustDomain: 'cluster.local',
    });
  });

  it('refuses what is not an identity', () => {
    assert.equal(isIdentityName('web.shop.svc.cluster.local'), false);
    assert.equal(isIdentityName('Web.shop.serviceaccount.identity.strait.cluster.local'), false);
    assert.throws(
      () => identityName({ serviceAccount: 'Bad_Name', namespace: 'shop' }),
      /E_IDENTITY_NAME|DNS label/,
    );
  });
});

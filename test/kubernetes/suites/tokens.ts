import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Kinds } from '../../../src/core/kinds.ts';
import { NotFoundError } from '../../../src/core/store.ts';
import {
  KUBERNETES_IDENTITY_AUDIENCE,
  TokenReviewValidator,
} from '../../../src/platform/kubernetes/token-review-validator.ts';
import { requestServiceAccountToken, reviewToken } from '../../../src/platform/kubernetes/tokens.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { eventually, freshNamespace, storeOn } from './fixtures.ts';

/** Service-account tokens: issued by TokenRequest, checked by TokenReview, bound to their cluster and audience. */
export async function tokenTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const west = storeOn(clusters, 'west');
  const client = clusters.client('west');

  await t.test('tokens: a TokenRequest token passes TokenReview as its service account', async () => {
    const ns = await freshNamespace(west, 'tokens');
    await west.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: ns } });
    const issued = await requestServiceAccountToken(client, ns, 'web', {
      audiences: ['identity.strait.cluster.local'],
      expirationSeconds: 600,
    });
    assert.ok(Date.parse(issued.expirationTimestamp) > Date.now());

    const review = await reviewToken(client, issued.token, { audiences: ['identity.strait.cluster.local'] });
    assert.equal(review.authenticated, true);
    assert.ok(review.authenticated);
    assert.equal(review.username, `system:serviceaccount:${ns}:web`);
    assert.deepEqual(review.serviceAccount, { namespace: ns, name: 'web' });
    assert.deepEqual(review.audiences, ['identity.strait.cluster.local']);

    const otherAudience = await reviewToken(client, issued.token, { audiences: ['somewhere-else'] });
    assert.equal(otherAudience.authenticated, false);
    const tampered = `${issued.token.slice(0, -4)}AAAA`;
    assert.equal((await reviewToken(client, tampered)).authenticated, false);
    // East signs with its own key, so it does not accept west's tokens.
    const east = await reviewToken(clusters.client('east'), issued.token, {
      audiences: ['identity.strait.cluster.local'],
    });
    assert.equal(east.authenticated, false);

    await west.delete({ ...Kinds.ServiceAccount, namespace: ns, name: 'web' });
    await eventually('a deleted service account’s token to be refused', async () => {
      const after = await reviewToken(client, issued.token, { audiences: ['identity.strait.cluster.local'] });
      return !after.authenticated;
    });
    await assert.rejects(requestServiceAccountToken(client, ns, 'web'), NotFoundError);
  });

  await t.test('tokens: the identity service validator maps a token to its workload identity', async () => {
    const ns = await freshNamespace(west, 'identity');
    await west.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'backend', namespace: ns },
    });
    const validator = new TokenReviewValidator({ client });
    const identity = `backend.${ns}.serviceaccount.identity.strait.cluster.local`;
    const issued = await requestServiceAccountToken(client, ns, 'backend', {
      audiences: [KUBERNETES_IDENTITY_AUDIENCE],
    });
    const token = new TextEncoder().encode(issued.token);
    assert.deepEqual(await validator.validate(token, identity, 'test'), { identity });

    await assert.rejects(
      validator.validate(token, `frontend.${ns}.serviceaccount.identity.strait.cluster.local`, 'pod a'),
      {
        code: 'E_CREDENTIAL_INVALID',
        message: new RegExp(
          `pod a: credential refused: the token proves "${identity.replaceAll('.', '\\.')}"`,
        ),
      },
    );
    const apiServerToken = await requestServiceAccountToken(client, ns, 'backend');
    await assert.rejects(
      validator.validate(new TextEncoder().encode(apiServerToken.token), identity, 'pod b'),
      {
        code: 'E_CREDENTIAL_INVALID',
        message: /the API server rejected the token/,
      },
    );
    await assert.rejects(validator.validate(new Uint8Array(), identity, 'pod c'), {
      code: 'E_CREDENTIAL_INVALID',
    });
  });
}

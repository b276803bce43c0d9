import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isKubernetesToken, TokenRenewer, tokenTimes } from './token-renewal.ts';

/** An unsigned JWT with these claims (renewal reads claims only; the issuer checks signatures). */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.`;
}

const now = () => Math.floor(Date.now() / 1000);

describe('link token renewal', () => {
  it('reads iat and exp, and names a token without exp', () => {
    assert.deepEqual(tokenTimes(jwt({ iat: 100, exp: 700 })), { issuedAt: 100, expiresAt: 700 });
    assert.throws(() => tokenTimes(jwt({ iat: 100 })), { code: 'E_TOKEN_INVALID', message: /no exp claim/ });
    assert.throws(() => tokenTimes('not-a-token'), { code: 'E_TOKEN_INVALID' });
  });

  it('tells Kubernetes ServiceAccount tokens from others', () => {
    const kube = jwt({
      exp: 1,
      'kubernetes.io': { namespace: 'strait-multicluster', serviceaccount: { name: 'x' } },
    });
    assert.equal(isKubernetesToken(kube), true);
    assert.equal(isKubernetesToken(jwt({ exp: 1, serviceAccount: { namespace: 'a', name: 'b' } })), false);
    assert.equal(isKubernetesToken('garbage'), false);
  });

  it('renews a token past 70% of its lifetime with the current one, keeping its lifetime', async () => {
    const old = jwt({ iat: now() - 800, exp: now() + 200 });
    const asked: [string, number][] = [];
    const renewed: string[] = [];
    const fresh = jwt({ iat: now(), exp: now() + 1000 });
    const renewer = new TokenRenewer({
      token: old,
      renew: async (current, seconds) => {
        asked.push([current, seconds]);
        return fresh;
      },
      onRenewed: (token) => renewed.push(token),
    });
    renewer.start();
    while (renewed.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    renewer.stop();
    assert.equal(asked.length, 1, 'a fresh token is not renewed again');
    assert.deepEqual(asked[0], [old, 1000]);
    assert.equal(renewed[0], fresh);
    assert.equal(renewer.token, fresh);
  });

  it('asks once for concurrent renewals, and reports a failure without losing the current token', async () => {
    const token = jwt({ iat: now(), exp: now() + 3600 });
    let calls = 0;
    const renewer = new TokenRenewer({
      token,
      renew: async () => {
        calls += 1;
        throw new Error('forbidden');
      },
      onRenewed: () => assert.fail('nothing was renewed'),
    });
    const results = await Promise.allSettled([renewer.renewNow(), renewer.renewNow()]);
    assert.equal(calls, 1);
    assert.ok(results.every((r) => r.status === 'rejected'));
    assert.equal(renewer.token, token);
  });
});

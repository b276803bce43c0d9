import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createWorkloadTokenKeys, WorkloadTokenIssuer, WorkloadTokenValidator } from './workload-token.ts';

const identity = 'web.shop.serviceaccount.identity.strait.cluster.local';
const keys = createWorkloadTokenKeys();
const issuer = new WorkloadTokenIssuer(keys.privateKeyPem);
const validator = new WorkloadTokenValidator({ publicKeys: [keys.publicKeyPem] });
const bytes = (text: string) => new TextEncoder().encode(text);

async function refusal(token: string, requested = identity, check = validator): Promise<string> {
  try {
    await check.validate(bytes(token), requested, 'workload web-1');
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    assert.equal(code, 'E_CREDENTIAL_INVALID');
    assert.ok(message.startsWith('workload web-1: credential refused: '), message);
    return message;
  }
  assert.fail('the token was accepted');
}

describe('workload tokens', () => {
  it('prove the identity they were issued for', async () => {
    const token = issuer.issue({ identity, namespace: 'shop', workload: 'web-1' });
    assert.deepEqual(await validator.validate(bytes(token), identity, 'web-1'), { identity });
    const claims = validator.verify(token, 'web-1');
    assert.equal(claims.workload, 'web-1');
    assert.equal(claims.namespace, 'shop');
  });

  it('do not prove another identity', async () => {
    const token = issuer.issue({ identity, namespace: 'shop', workload: 'web-1' });
    assert.match(
      await refusal(token, 'db.shop.serviceaccount.identity.strait.cluster.local'),
      /proves "web\.shop/,
    );
  });

  it('are refused when missing, malformed, forged or tampered with', async () => {
    assert.match(await refusal(''), /no token was sent/);
    assert.match(await refusal('abc'), /malformed/);
    assert.match(await refusal('a.b.c'), /not base64url JSON/);
    const other = new WorkloadTokenIssuer(createWorkloadTokenKeys().privateKeyPem);
    assert.match(
      await refusal(other.issue({ identity, namespace: 'shop', workload: 'web-1' })),
      /does not verify/,
    );
    const [header, , signature] = issuer.issue({ identity, namespace: 'shop', workload: 'web-1' }).split('.');
    const forgedClaims = Buffer.from(
      JSON.stringify({
        sub: identity,
        namespace: 'shop',
        workload: 'x',
        aud: 'identity.strait.io',
        iat: 1,
        exp: 9e9,
      }),
    ).toString('base64url');
    assert.match(await refusal(`${header}.${forgedClaims}.${signature}`), /does not verify/);
  });

  it('are refused for another audience, after expiry, or from the future beyond the skew allowance', async () => {
    assert.match(
      await refusal(issuer.issue({ identity, namespace: 'shop', workload: 'w', audience: 'other' })),
      /audience/,
    );
    const old = issuer.issue({
      identity,
      namespace: 'shop',
      workload: 'w',
      ttlMs: 60_000,
      now: new Date(Date.now() - 120_000),
    });
    assert.match(await refusal(old), /expired/);
    const future = issuer.issue({
      identity,
      namespace: 'shop',
      workload: 'w',
      now: new Date(Date.now() + 60_000),
    });
    assert.match(await refusal(future), /future/);
    const slightlyAhead = issuer.issue({
      identity,
      namespace: 'shop',
      workload: 'w',
      now: new Date(Date.now() + 10_000),
    });
    assert.deepEqual(await validator.validate(bytes(slightlyAhead), identity, 'w'), { identity });
  });

  it('accept tokens from any key in the validator during a key rotation', async () => {
    const next = createWorkloadTokenKeys();
    const both = new WorkloadTokenValidator({ publicKeys: [keys.publicKeyPem, next.publicKeyPem] });
    const newToken = new WorkloadTokenIssuer(next.privateKeyPem).issue({
      identity,
      namespace: 'shop',
      workload: 'w',
    });
    assert.deepEqual(await both.validate(bytes(newToken), identity, 'w'), { identity });
    assert.deepEqual(
      await both.validate(bytes(issuer.issue({ identity, namespace: 'shop', workload: 'w' })), identity, 'w'),
      {
        identity,
      },
    );
  });

  it('cannot be issued for an identity outside the workload namespace', () => {
    assert.throws(() => issuer.issue({ identity, namespace: 'other', workload: 'w' }), {
      code: 'E_TOKEN_CLAIMS',
    });
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Code } from '@connectrpc/connect';
import { startIdentityService } from '../../../src/control-plane/identity/index.ts';
import { IdentityService } from '../../../src/gen/strait/identity/v1/identity_pb.js';
import {
  createAnchor,
  createCsr,
  createIssuer,
  generateKeyPair,
  issueWorkloadCertificate,
  loadCertificate,
  privateKeyPem,
  readPemBlocks,
  verifyChain,
} from '../../../src/pki/index.ts';
import {
  createWorkloadTokenKeys,
  WorkloadTokenIssuer,
  WorkloadTokenValidator,
} from '../../../src/platform/local/workload-token.ts';
import { requestCredentials } from '../../../src/proxy/identity/index.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { dbIdentity, type Mesh, startMesh, webIdentity } from './service-harness.ts';

const HOUR = 3_600_000;

async function refusedCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code: string }).code;
  }
  assert.fail('the request was accepted');
}

describe('identity service over TLS on loopback', () => {
  let mesh: Mesh;
  const dir = mkdtempSync(join(tmpdir(), 'strait-identity-service-'));
  before(async () => {
    mesh = await startMesh();
  });
  after(async () => {
    await mesh.service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Certify with a hand-made request, for the cases the client library would never send. */
  function rawCertify(identity: string, csr: Uint8Array, token: Uint8Array) {
    const client = createRpcClient(IdentityService, {
      address: mesh.endpoint.address,
      ca: mesh.anchor.certPem,
      serverIdentity: mesh.service.identity,
    });
    return client.certify({ identity, token, certificateSigningRequest: csr });
  }

  function opensslCsr(altNames: string): Uint8Array {
    const key = join(dir, 'k.pem');
    writeFileSync(key, privateKeyPem(generateKeyPair().privateKey));
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-key',
        key,
        '-subj',
        '/',
        '-addext',
        `subjectAltName=${altNames}`,
        '-out',
        join(dir, 'r.pem'),
      ],
      { stdio: 'pipe' },
    );
    return (readPemBlocks(readFileSync(join(dir, 'r.pem'), 'utf8'), 'r.pem')[0] as { der: Uint8Array }).der;
  }

  it('issues a 24h certificate for the identity the token proves', async () => {
    const before = Date.now();
    const credentials = await requestCredentials(mesh.endpoint, {
      identity: webIdentity,
      token: mesh.token(),
    });
    const after = Date.now();
    const leaf = loadCertificate(credentials.certPem, 'leaf');
    assert.deepEqual(leaf.dnsNames, [webIdentity]);
    assert.deepEqual(leaf.otherNames, []);
    // Valid until 24 h plus the 20 s skew allowance after the moment of issue (whole seconds).
    const end = leaf.notAfter.getTime();
    assert.ok(
      end >= before + 24 * HOUR + 19_000 && end <= after + 24 * HOUR + 20_000,
      `notAfter ${leaf.notAfter.toISOString()}`,
    );
    const chain = verifyChain(credentials.certPem, credentials.chainPem, mesh.anchor.certPem, {
      expectedIdentity: webIdentity,
    });
    assert.equal(chain.path[1]?.subject, 'CN=identity.strait.cluster.local');
    assert.equal(mesh.events.at(-1)?.type, 'issued');
  });

  it('allows 20 s of clock skew on both ends of the validity', async () => {
    const before = Date.now();
    const credentials = await requestCredentials(mesh.endpoint, {
      identity: webIdentity,
      token: mesh.token(),
    });
    const after = Date.now();
    const leaf = loadCertificate(credentials.certPem, 'leaf');
    assert.ok(leaf.notBefore.getTime() <= after - 20_000);
    // A peer whose clock runs 15 s behind accepts the certificate at once.
    const slowClock = new Date(after - 15_000);
    verifyChain(credentials.certPem, credentials.chainPem, mesh.anchor.certPem, { now: slowClock });
    assert.throws(
      () =>
        verifyChain(credentials.certPem, credentials.chainPem, mesh.anchor.certPem, {
          now: new Date(before - 40_000),
        }),
      {
        code: 'E_CERT_NOT_YET_VALID',
      },
    );
  });

  it('refuses a missing, forged or mismatched credential', async () => {
    const forged = new WorkloadTokenIssuer(createWorkloadTokenKeys().privateKeyPem).issue({
      identity: webIdentity,
      namespace: 'shop',
      workload: 'web-1',
    });
    for (const token of [
      new Uint8Array(),
      new TextEncoder().encode(forged),
      mesh.token(dbIdentity),
      new TextEncoder().encode('garbage'),
    ]) {
      assert.equal(
        await refusedCode(requestCredentials(mesh.endpoint, { identity: webIdentity, token })),
        'E_CREDENTIAL_INVALID',
      );
    }
    const refusal = mesh.events.at(-1);
    assert.equal(refusal?.type, 'refused');
    assert.match(
      refusal?.type === 'refused' ? refusal.message : '',
      /caller 127\.0\.0\.1:\d+ for "web\.shop/,
    );
  });

  it('refuses a CSR for another identity, with extra names, or damaged', async () => {
    const key = generateKeyPair().privateKey;
    assert.equal(
      await refusedCode(rawCertify(webIdentity, createCsr(key, dbIdentity), mesh.token())),
      Code.InvalidArgument,
    );
    const cases: [Uint8Array, RegExp][] = [
      [createCsr(key, dbIdentity), /E_CSR_IDENTITY_MISMATCH/],
      [opensslCsr(`DNS:${webIdentity},DNS:evil.example`), /E_CSR_IDENTITY_MISMATCH/],
      [opensslCsr(`DNS:${webIdentity},URI:spiffe://cluster.local/ns/shop/sa/web`), /E_CSR_IDENTITY_MISMATCH/],
      [new TextEncoder().encode('not a csr'), /E_CSR_INVALID/],
      [new Uint8Array(), /E_CSR_INVALID/],
    ];
    for (const [csr, pattern] of cases) {
      await assert.rejects(rawCertify(webIdentity, csr, mesh.token()), (error: Error) =>
        pattern.test(error.message),
      );
    }
  });

  it('refuses identities outside the mesh', async () => {
    const key = generateKeyPair().privateKey;
    const foreign = 'web.shop.serviceaccount.identity.strait.other.example';
    await assert.rejects(rawCertify(foreign, createCsr(key, foreign), mesh.token()), /E_IDENTITY_NAME/);
    await assert.rejects(rawCertify('web', createCsr(key, webIdentity), mesh.token()), /E_IDENTITY_NAME/);
  });

  it('keeps serving after bad requests and broken connections', async () => {
    await new Promise<void>((resolve) => {
      const socket = tlsConnect(
        {
          host: '127.0.0.1',
          port: mesh.service.port,
          ca: mesh.anchor.certPem,
          servername: mesh.service.identity,
          ALPNProtocols: ['h2'],
        },
        () => {
          socket.write('this is not HTTP/2 at all\r\n\r\n');
        },
      );
      // The server answers a broken preface with GOAWAY and closes the connection.
      socket.resume();
      socket.on('error', () => {});
      socket.on('close', () => resolve());
    });
    await assert.rejects(rawCertify(webIdentity, new Uint8Array(100), mesh.token()));
    const credentials = await requestCredentials(mesh.endpoint, {
      identity: webIdentity,
      token: mesh.token(),
    });
    assert.equal(loadCertificate(credentials.certPem, 'leaf').dnsNames[0], webIdentity);
  });

  it('presents its own identity, which clients check', async () => {
    const wrongName = {
      ...mesh.endpoint,
      serverIdentity: 'strait-destination.strait.serviceaccount.identity.strait.cluster.local',
    };
    assert.equal(
      await refusedCode(requestCredentials(wrongName, { identity: webIdentity, token: mesh.token() })),
      'E_IDENTITY_UNAVAILABLE',
    );
    const otherBundle = { ...mesh.endpoint, trustBundlePem: createAnchor().certPem };
    assert.equal(
      await refusedCode(requestCredentials(otherBundle, { identity: webIdentity, token: mesh.token() })),
      'E_IDENTITY_UNAVAILABLE',
    );
  });
});

describe('identity service issuers', () => {
  for (const kind of ['step-rsa', 'openssl-ec']) {
    it(`serves with a ${kind} issuer and anchor`, async () => {
      const fixture = (name: string) =>
        readFileSync(new URL(`../../fixtures/pki/${kind}/${name}`, import.meta.url), 'utf8');
      const keys = createWorkloadTokenKeys();
      const service = await startIdentityService({
        issuer: { certPem: fixture('issuer.crt'), keyPem: fixture('issuer.key') },
        trustBundle: fixture('ca.crt'),
        validator: new WorkloadTokenValidator({ publicKeys: [keys.publicKeyPem] }),
        port: 0,
      });
      try {
        const token = new WorkloadTokenIssuer(keys.privateKeyPem).issue({
          identity: webIdentity,
          namespace: 'shop',
          workload: 'web-1',
        });
        const credentials = await requestCredentials(
          {
            address: `127.0.0.1:${service.port}`,
            serverIdentity: service.identity,
            trustBundlePem: fixture('ca.crt'),
          },
          { identity: webIdentity, token: new TextEncoder().encode(token) },
        );
        const chain = verifyChain(credentials.certPem, credentials.chainPem, fixture('ca.crt'), {
          expectedIdentity: webIdentity,
        });
        assert.ok(chain.anchor.subject.endsWith(`CN=root.${kind}.example`), chain.anchor.subject);
      } finally {
        await service.close();
      }
    });
  }

  it('never issues beyond the issuer expiry', async () => {
    const mesh = await startMesh({ issuerValidForMs: 2 * HOUR });
    try {
      const credentials = await requestCredentials(mesh.endpoint, {
        identity: webIdentity,
        token: mesh.token(),
      });
      const issuerExpiry = loadCertificate(mesh.issuer.certPem, 'issuer').notAfter;
      assert.ok(credentials.notAfter <= issuerExpiry);
      assert.ok(credentials.notAfter.getTime() > issuerExpiry.getTime() - 60_000);
    } finally {
      await mesh.service.close();
    }
  });

  it('refuses to start with an unusable issuer', async () => {
    const anchor = createAnchor();
    const validator = new WorkloadTokenValidator({ publicKeys: [createWorkloadTokenKeys().publicKeyPem] });
    const start = (issuer: { certPem: string; keyPem: string }, trustBundle = anchor.certPem) =>
      refusedCode(startIdentityService({ issuer, trustBundle, validator, port: 0 }));
    assert.equal(await start(createIssuer({ anchor: createAnchor() })), 'E_CHAIN_INVALID');
    const expired = createIssuer({ anchor, notBefore: new Date(Date.now() - 3 * HOUR), validForMs: HOUR });
    assert.equal(await start(expired), 'E_CERT_EXPIRED');
    const good = createIssuer({ anchor });
    assert.equal(
      await start({ certPem: good.certPem, keyPem: createIssuer({ anchor }).keyPem }),
      'E_KEY_MISMATCH',
    );
    const leaf = issueWorkloadCertificate({ issuer: good, identity: webIdentity });
    assert.equal(await start({ certPem: leaf.chainPem, keyPem: leaf.keyPem }), 'E_CERT_NOT_CA');
    assert.equal(await start(good, 'not a bundle'), 'E_PEM_INVALID');
  });

  it('rotates the issuer without a restart; old leaves stay valid', async () => {
    const mesh = await startMesh();
    try {
      const before = await requestCredentials(mesh.endpoint, { identity: webIdentity, token: mesh.token() });
      const next = createIssuer({ anchor: mesh.anchor, name: 'identity-2.strait.cluster.local' });
      assert.throws(() => mesh.service.setIssuer(createIssuer({ anchor: createAnchor() })), {
        code: 'E_CHAIN_INVALID',
      });
      mesh.service.setIssuer(next);
      const afterRotation = await requestCredentials(mesh.endpoint, {
        identity: webIdentity,
        token: mesh.token(),
      });
      assert.equal(
        loadCertificate(afterRotation.certPem, 'leaf').issuer,
        'CN=identity-2.strait.cluster.local',
      );
      for (const credentials of [before, afterRotation]) {
        verifyChain(credentials.certPem, credentials.chainPem, mesh.anchor.certPem, {
          expectedIdentity: webIdentity,
        });
      }
    } finally {
      await mesh.service.close();
    }
  });

  it('rotates the trust anchor through a bundle holding old and new', async () => {
    const mesh = await startMesh();
    try {
      const old = await requestCredentials(mesh.endpoint, { identity: webIdentity, token: mesh.token() });
      const newAnchor = createAnchor({ name: 'root-2.strait.cluster.local' });
      const bundle = mesh.anchor.certPem + newAnchor.certPem;
      // The issuer must chain to the bundle: dropping the old anchor first is refused.
      assert.throws(() => mesh.service.setTrustBundle(newAnchor.certPem), { code: 'E_CHAIN_INVALID' });
      mesh.service.setTrustBundle(bundle);
      mesh.service.setIssuer(createIssuer({ anchor: newAnchor }));
      const fresh = await requestCredentials(
        { ...mesh.endpoint, trustBundlePem: bundle },
        { identity: webIdentity, token: mesh.token() },
      );
      assert.equal(
        verifyChain(fresh.certPem, fresh.chainPem, bundle).anchor.subject,
        'CN=root-2.strait.cluster.local',
      );
      assert.equal(
        verifyChain(old.certPem, old.chainPem, bundle).anchor.subject,
        'CN=root.strait.cluster.local',
      );
      // After the overlap, the bundle drops the old anchor and old leaves stop verifying.
      mesh.service.setTrustBundle(newAnchor.certPem);
      assert.throws(() => verifyChain(old.certPem, old.chainPem, mesh.service.trustBundle), {
        code: 'E_CHAIN_INVALID',
      });
      await requestCredentials(
        { ...mesh.endpoint, trustBundlePem: newAnchor.certPem },
        { identity: webIdentity, token: mesh.token() },
      );
    } finally {
      await mesh.service.close();
    }
  });
});

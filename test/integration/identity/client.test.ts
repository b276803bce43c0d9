import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { startIdentityService } from '../../../src/control-plane/identity/index.ts';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../../../src/pki/index.ts';
import {
  createWorkloadTokenKeys,
  WorkloadTokenIssuer,
  WorkloadTokenValidator,
} from '../../../src/platform/local/workload-token.ts';
import {
  expectIdentity,
  IdentityClient,
  PeerVerifier,
  requestCredentials,
  secureContextOptions,
  type WorkloadCredentials,
} from '../../../src/proxy/identity/index.ts';
import { dbIdentity, startMesh, webIdentity } from './service-harness.ts';

/** An mTLS echo server that answers each line with the serial of the certificate it presents. */
async function startEchoServer(credentials: WorkloadCredentials) {
  const server = createServer(
    { ...secureContextOptions(credentials), requestCert: true, rejectUnauthorized: true },
    (socket) => {
      socket.on('data', (data) =>
        socket.write(
          `${socket.getCertificate() && (socket.getCertificate() as { serialNumber: string }).serialNumber} ${data}`,
        ),
      );
      socket.on('error', () => {});
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

async function dial(port: number, credentials: WorkloadCredentials, expected: string): Promise<TLSSocket> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    ...secureContextOptions(credentials),
    servername: expected,
    checkServerIdentity: expectIdentity(expected),
  });
  await once(socket, 'secureConnect');
  return socket;
}

async function roundTrip(socket: TLSSocket, text: string): Promise<string> {
  socket.write(text);
  const [data] = await once(socket, 'data');
  return String(data);
}

describe('IdentityClient', () => {
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('refreshes before expiry and hot-swaps the server certificate without dropping connections', async () => {
    const mesh = await startMesh({ leafValidityMs: 2_000 });
    closers.push(() => mesh.service.close());
    const client = new IdentityClient({
      ...mesh.endpoint,
      identity: dbIdentity,
      token: () => mesh.token(dbIdentity),
      refreshFraction: 0.05,
      minRefreshMs: 200,
    });
    closers.push(() => client.close());
    const received: WorkloadCredentials[] = [];
    client.onCredentials((credentials) => received.push(credentials));
    const first = await client.start();
    const { server, port } = await startEchoServer(first);
    closers.push(() => server.close());
    client.onCredentials((credentials) => server.setSecureContext(secureContextOptions(credentials)));

    const caller = await requestCredentials(mesh.endpoint, { identity: webIdentity, token: mesh.token() });
    const before = await dial(port, caller, dbIdentity);
    closers.push(() => before.destroy());
    const firstSerial = (await roundTrip(before, 'one')).split(' ')[0];

    const second = await new Promise<WorkloadCredentials>((resolve) => {
      const stop = client.onCredentials((credentials) => {
        stop();
        resolve(credentials);
      });
    });
    assert.notEqual(second.certPem, first.certPem);
    assert.notEqual(second.keyPem, first.keyPem, 'every refresh uses a new key');
    assert.equal(client.current, second);

    // The old connection still works; a new one sees the new certificate.
    assert.equal((await roundTrip(before, 'two')).split(' ')[0], firstSerial);
    // The caller's certificate also lives only 2 s; a loaded machine may have passed that by now.
    const laterCaller = await requestCredentials(mesh.endpoint, {
      identity: webIdentity,
      token: mesh.token(),
    });
    const afterSwap = await dial(port, laterCaller, dbIdentity);
    closers.push(() => afterSwap.destroy());
    const secondSerial = (await roundTrip(afterSwap, 'three')).split(' ')[0];
    assert.notEqual(secondSerial, firstSerial);
    assert.ok(received.length >= 2);
  });

  it('retries with backoff until the service is reachable and the credential is accepted', async () => {
    const anchor = createAnchor();
    const issuer = createIssuer({ anchor });
    const keys = createWorkloadTokenKeys();
    const tokens = new WorkloadTokenIssuer(keys.privateKeyPem);
    const forger = new WorkloadTokenIssuer(createWorkloadTokenKeys().privateKeyPem);
    const placeholder = createNetServer().listen(0, '127.0.0.1');
    await once(placeholder, 'listening');
    const port = (placeholder.address() as AddressInfo).port;
    placeholder.close();
    await once(placeholder, 'close');

    let forged = true;
    const client = new IdentityClient({
      address: `127.0.0.1:${port}`,
      serverIdentity: 'strait-identity.strait.serviceaccount.identity.strait.cluster.local',
      trustBundlePem: anchor.certPem,
      identity: webIdentity,
      token: () =>
        (forged ? forger : tokens).issue({ identity: webIdentity, namespace: 'shop', workload: 'web-1' }),
      backoffInitialMs: 50,
      backoffMaxMs: 200,
    });
    closers.push(() => client.close());
    const errors: string[] = [];
    const twoUnavailable = new Promise<void>((resolve) => {
      client.onError((error) => {
        errors.push((error as Error & { code: string }).code);
        if (errors.filter((code) => code === 'E_IDENTITY_UNAVAILABLE').length === 2) resolve();
      });
    });
    const ready = client.start();
    await twoUnavailable;

    const service = await startIdentityService({
      issuer,
      trustBundle: anchor.certPem,
      validator: new WorkloadTokenValidator({ publicKeys: [keys.publicKeyPem] }),
      port,
    });
    closers.push(() => service.close());
    await new Promise<void>((resolve) => {
      client.onError((error) => {
        if ((error as Error & { code: string }).code === 'E_CREDENTIAL_INVALID') {
          forged = false;
          resolve();
        }
      });
    });
    const credentials = await ready;
    assert.equal(credentials.identity, webIdentity);
    assert.ok(errors.length >= 3);
  });
});

describe('PeerVerifier and expectIdentity over mTLS', () => {
  it('accept the expected peer and refuse the wrong identity or anchor', async () => {
    const mesh = await startMesh();
    try {
      const web = await requestCredentials(mesh.endpoint, { identity: webIdentity, token: mesh.token() });
      const db = await requestCredentials(mesh.endpoint, {
        identity: dbIdentity,
        token: mesh.token(dbIdentity),
      });
      const verifier = new PeerVerifier(mesh.anchor.certPem);
      const seen: string[] = [];
      const server = createServer(
        { ...secureContextOptions(db), requestCert: true, rejectUnauthorized: true },
        (socket) => {
          seen.push(verifier.verifySocket(socket, { expectedIdentity: webIdentity }).identity ?? '');
          socket.end('ok');
        },
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as AddressInfo).port;
      try {
        const socket = await dial(port, web, dbIdentity);
        const [reply] = await once(socket, 'data');
        assert.equal(String(reply), 'ok');
        socket.destroy();
        assert.deepEqual(seen, [webIdentity]);

        const wrong = connect({
          host: '127.0.0.1',
          port,
          ...secureContextOptions(web),
          checkServerIdentity: expectIdentity(webIdentity),
        });
        const [error] = await once(wrong, 'error');
        assert.equal((error as { code: string }).code, 'E_IDENTITY_MISMATCH');
      } finally {
        server.close();
      }

      assert.equal(verifier.verify(web.chainPem, { expectedIdentity: webIdentity }).identity, webIdentity);
      const stranger = issueWorkloadCertificate({
        issuer: createIssuer({ anchor: createAnchor() }),
        identity: webIdentity,
      });
      assert.throws(() => verifier.verify(stranger.chainPem), { code: 'E_CHAIN_INVALID' });
      assert.throws(() => verifier.verify(web.chainPem, { now: new Date(Date.now() + 48 * 3_600_000) }), {
        code: 'E_CERT_EXPIRED',
      });
      verifier.setTrustBundle(mesh.anchor.certPem + createAnchor().certPem);
      verifier.verify(web.chainPem);
    } finally {
      await mesh.service.close();
    }
  });
});

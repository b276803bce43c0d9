import assert from 'node:assert/strict';
import type { ServerHttp2Session } from 'node:http2';
import { after, test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { CertifyResponseSchema, IdentityService } from '../gen/strait/identity/v1/identity_pb.js';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../pki/index.ts';
import { createRpcClient, type RpcClientTls } from './client.ts';
import { peerIdentity, startRpcServer } from './server.ts';

const anchor = createAnchor();
const issuer = createIssuer({ anchor });
const name = (sa: string) => `${sa}.test.serviceaccount.identity.strait.cluster.local`;
const serverLeaf = issueWorkloadCertificate({ issuer, identity: name('server') });

test('a client with a TLS source presents the certificate current at each new connection', async () => {
  const callers: (string | undefined)[] = [];
  const server = await startRpcServer({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: serverLeaf.chainPem, key: serverLeaf.keyPem, ca: anchor.certPem },
    requestClientCert: true,
    register: (router) =>
      router.service(IdentityService, {
        certify: (_request, context) => {
          callers.push(peerIdentity(context));
          return create(CertifyResponseSchema, {});
        },
      }),
  });
  after(() => server.close());
  const sessions: ServerHttp2Session[] = [];
  server.server.on('session', (session) => sessions.push(session));

  const leafOf = (sa: string): RpcClientTls => {
    const leaf = issueWorkloadCertificate({ issuer, identity: name(sa) });
    return { ca: anchor.certPem, cert: leaf.chainPem, key: leaf.keyPem };
  };
  let current = leafOf('before-renewal');
  const client = createRpcClient(IdentityService, {
    address: `127.0.0.1:${server.port}`,
    serverIdentity: name('server'),
    tlsSource: () => current,
  });

  await client.certify({});
  current = leafOf('after-renewal');
  // The established connection keeps the certificate it was made with.
  await client.certify({});
  await Promise.all(sessions.map((session) => new Promise<void>((closed) => session.close(() => closed()))));
  // A call racing the client's view of the server's GOAWAY is refused; the next one reconnects.
  for (let attempt = 1; ; attempt++) {
    try {
      await client.certify({});
      break;
    } catch (error) {
      if (attempt === 5 || !/REFUSED_STREAM|GOAWAY/i.test(String(error))) throw error;
    }
  }

  assert.deepEqual(callers, [name('before-renewal'), name('before-renewal'), name('after-renewal')]);
});

test('a client refuses a server whose identity is not the expected one', async () => {
  const server = await startRpcServer({
    host: '127.0.0.1',
    port: 0,
    tls: { cert: serverLeaf.chainPem, key: serverLeaf.keyPem },
    register: (router) =>
      router.service(IdentityService, { certify: () => create(CertifyResponseSchema, {}) }),
  });
  after(() => server.close());
  const client = createRpcClient(IdentityService, {
    address: `127.0.0.1:${server.port}`,
    serverIdentity: name('someone-else'),
    ca: anchor.certPem,
  });
  await assert.rejects(client.certify({}), /someone-else|altnames|Hostname/i);
});

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, describe, it } from 'node:test';
import tls from 'node:tls';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../../pki/index.ts';
import { Credentials, type IdentityMaterial } from '../transport/credentials.ts';
import { TapHub } from './hub.ts';
import { createTapServer, portOf } from './server.ts';

const identity = (sa: string) => `${sa}.shop.serviceaccount.identity.strait.cluster.local`;

function trustDomain() {
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor });
  return (sa: string): IdentityMaterial => {
    const leaf = issueWorkloadCertificate({ issuer, identity: identity(sa) });
    return { certChain: leaf.chainPem, key: leaf.keyPem, trustBundle: anchor.certPem };
  };
}

async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return portOf(server);
}

/**
 * A TLS connection to the tap port as `client`, closed once the server has
 * spoken (an HTTP/2 server starts with its SETTINGS frame) or has closed it.
 */
function handshake(
  port: number,
  client: IdentityMaterial,
  alpn: string[],
): Promise<{ spoke: boolean; serverIdentity: string | undefined; error: string | undefined }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: client.trustBundle,
      cert: client.certChain,
      key: client.key,
      ALPNProtocols: alpn,
      checkServerIdentity: () => undefined,
    });
    let spoke = false;
    let error: string | undefined;
    let serverIdentity: string | undefined;
    socket.once('secureConnect', () => {
      serverIdentity = socket.getPeerCertificate().subjectaltname?.replace(/^DNS:/, '');
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    // A TLS 1.3 server checks the client certificate after the client's side of the handshake is done.
    socket.once('data', () => {
      spoke = true;
      socket.end();
    });
    socket.once('close', () => resolve({ spoke, serverIdentity, error }));
  });
}

describe('the tap server over mTLS', () => {
  const servers: net.Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  const start = async (credentials: Credentials) => {
    const server = createTapServer(new TapHub(), { credentials, isAllowed: () => true });
    servers.push(server);
    return listening(server);
  };

  it('speaks h2 to a client of the trust domain, and presents a rotated certificate to new connections', async () => {
    const material = trustDomain();
    const credentials = new Credentials(material('web'));
    const port = await start(credentials);
    const before = await handshake(port, material('tap'), ['h2']);
    assert.deepEqual(before, { spoke: true, serverIdentity: identity('web'), error: undefined });
    credentials.update(material('rotated'));
    const rotated = await handshake(port, material('tap'), ['h2']);
    assert.deepEqual(rotated, { spoke: true, serverIdentity: identity('rotated'), error: undefined });
  });

  it('fails the handshake of a client from another trust domain, and of one without h2', async () => {
    const material = trustDomain();
    const port = await start(new Credentials(material('web')));
    const stranger = trustDomain()('tap');
    const foreign = await handshake(port, { ...stranger, trustBundle: material('web').trustBundle }, ['h2']);
    assert.equal(foreign.spoke, false, 'served a client from another trust domain');
    const http1Only = await handshake(port, material('tap'), ['http/1.1']);
    assert.equal(http1Only.spoke, false, 'served a client without h2');
    assert.match(String(http1Only.error), /NO_APPLICATION_PROTOCOL/);
    const allowed = await handshake(port, material('tap'), ['h2']);
    assert.equal(allowed.spoke, true);
  });
});

describe('closing the tap server', () => {
  it('sends GOAWAY to its open HTTP/2 sessions', { timeout: 30_000 }, async (t) => {
    const server = createTapServer(new TapHub());
    const port = await listening(server);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    t.after(() => session.destroy());
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    const goaway = new Promise((resolve) => session.once('goaway', resolve));
    server.close();
    await goaway;
  });
});

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gatewayAuthorization } from '../../../src/multicluster/gateway/authorization.ts';
import { createGateway, type Gateway } from '../../../src/multicluster/gateway/gateway.ts';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../../../src/pki/index.ts';
import { StaticResolver } from '../../../src/proxy/discovery/static.ts';
import { createInboundTerminator } from '../../../src/proxy/inbound/terminator.ts';
import { OutboundClient } from '../../../src/proxy/outbound/client.ts';
import { connectMeshed } from '../../../src/proxy/transport/connect.ts';
import { Credentials } from '../../../src/proxy/transport/credentials.ts';
import { encodeTransportHeader } from '../../../src/proxy/transport/header.ts';
import {
  anchor,
  BACKEND,
  CLIENT,
  connectWithoutCertificate,
  credentialsFor,
  east,
  exchange,
  GATEWAY,
  id,
  log,
  startBackend,
  west,
} from './mesh-fixtures.ts';

const clientCredentials = credentialsFor(CLIENT, west);

describe('gateway', () => {
  let backend: { port: number; close: () => void };
  const resolver = new StaticResolver();
  const gateways: Gateway[] = [];

  /** Starts a gateway of east that admits by `authorization`; resolves its data and admin ports. */
  async function listenGateway(authorization?: Parameters<typeof gatewayAuthorization>[0]) {
    const gateway = createGateway({
      credentials: credentialsFor(GATEWAY, east),
      clusterDomain: 'east.local',
      outbound: new OutboundClient({
        resolver,
        credentials: credentialsFor(GATEWAY, east),
        log,
        fallbackDirect: false,
        discoveryTimeoutMs: 2000,
      }),
      authorization: gatewayAuthorization(authorization),
      log,
    });
    gateways.push(gateway);
    return gateway.listen({ host: '127.0.0.1', port: 0, adminPort: 0 });
  }

  async function startGateway(authorization?: Parameters<typeof gatewayAuthorization>[0]): Promise<number> {
    return (await listenGateway(authorization)).port;
  }

  function call(
    port: number,
    name: string,
    options: { clientIdentity?: string; credentials?: Credentials; protocol?: 'opaque' | 'http2' } = {},
  ) {
    return connectMeshed({
      host: '127.0.0.1',
      port,
      identity: GATEWAY,
      credentials: options.credentials ?? clientCredentials,
      header: encodeTransportHeader({
        name,
        port: 8080,
        protocol: options.protocol ?? 'opaque',
        ...(options.clientIdentity ? { clientIdentity: options.clientIdentity } : {}),
      }),
      connectTimeoutMs: 5000,
    });
  }

  before(async () => {
    backend = await startBackend();
    resolver.set('backend.shop.svc.east.local:8080', [
      {
        address: '127.0.0.1',
        port: 8080,
        weight: 1,
        tlsIdentity: BACKEND,
        opaqueTransportPort: backend.port,
        labels: {},
      },
    ]);
    resolver.set('backend-west.shop.svc.east.local:8080', [
      {
        address: '127.0.0.1',
        port: 4143,
        weight: 1,
        tlsIdentity: GATEWAY,
        opaqueTransportPort: 4143,
        authorityOverride: 'backend.shop.svc.west.local:8080',
        labels: {},
      },
    ]);
  });
  after(async () => {
    backend.close();
    await Promise.all(gateways.map((g) => g.close()));
  });

  it('forwards a mutually authenticated caller to the backend, carrying its verified identity', async () => {
    const port = await startGateway();
    const answer = await exchange(await call(port, 'backend.shop.svc.east.local'), 'hello');
    assert.equal(answer, `peer=${GATEWAY} client=${CLIENT} port=8080 got=hello`);
  });

  it('ignores an identity the caller claims in its header', async () => {
    const port = await startGateway();
    const forged = id('admin', 'kube-system');
    const answer = await exchange(
      await call(port, 'backend.shop.svc.east.local', { clientIdentity: forged }),
      'hi',
    );
    assert.match(answer, new RegExp(`client=${CLIENT.replaceAll('.', '\\.')} `));
  });

  it('refuses a client without a certificate', async () => {
    const socket = connectWithoutCertificate(await startGateway());
    assert.equal(await exchange(socket, 'hello'), '');
  });

  it('refuses plaintext', async () => {
    const port = await startGateway();
    assert.equal(
      await exchange(net.connect(port, '127.0.0.1'), 'GET / HTTP/1.1\r\nhost: backend\r\n\r\n'),
      '',
    );
  });

  it('refuses a client whose certificate does not chain to the trust anchor', async () => {
    const port = await startGateway();
    const otherAnchor = createAnchor({ name: 'root.other' });
    const stranger = issueWorkloadCertificate({
      issuer: createIssuer({ anchor: { certPem: otherAnchor.certPem, keyPem: otherAnchor.keyPem } }),
      identity: CLIENT,
    });
    const credentials = new Credentials({
      certChain: stranger.chainPem,
      key: stranger.keyPem,
      trustBundle: anchor.certPem,
    });
    const socket = await call(port, 'backend.shop.svc.east.local', { credentials }).catch(() => undefined);
    assert.equal(socket ? await exchange(socket, 'hello') : '', '');
  });

  it('refuses names outside its cluster domain, unknown names and loops', async () => {
    const port = await startGateway();
    for (const name of [
      'backend.shop.svc.west.local',
      'example.com',
      'nothing.shop.svc.east.local',
      'backend-west.shop.svc.east.local',
    ]) {
      assert.equal(await exchange(await call(port, name), 'hello'), '', name);
    }
    const counters = gateways.at(-1)?.counters;
    assert.equal(counters?.forwarded, 0);
    assert.equal(counters?.refused.E_GATEWAY_REFUSED, 3);
    assert.equal(counters?.refused.E_UNKNOWN_TARGET, 1);
  });

  it('applies its allowed identities and source networks', async () => {
    const onlyBilling = await startGateway({
      identities: [`*.billing.serviceaccount.identity.strait.cluster.local`],
    });
    assert.equal(await exchange(await call(onlyBilling, 'backend.shop.svc.east.local'), 'hello'), '');
    const onlyShop = await startGateway({
      identities: [`*.shop.serviceaccount.identity.strait.cluster.local`],
    });
    assert.match(await exchange(await call(onlyShop, 'backend.shop.svc.east.local'), 'hello'), /got=hello/);
    const farNetwork = await startGateway({ networks: ['10.0.0.0/8'] });
    assert.equal(await exchange(await call(farNetwork, 'backend.shop.svc.east.local'), 'hello'), '');
    const loopback = await startGateway({ networks: ['127.0.0.0/8'] });
    assert.match(await exchange(await call(loopback, 'backend.shop.svc.east.local'), 'hello'), /got=hello/);
  });

  it('carries HTTP/2 streams (as gRPC uses them) with trailers through to the backend', async () => {
    // The backend's proxy hands the decrypted connection to an HTTP/2 server.
    const terminator = createInboundTerminator({
      credentials: credentialsFor(BACKEND, east),
      isTrustedForwarder: (peer) => peer === GATEWAY,
      log,
    });
    const h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(`path=${headers[':path']}`);
    });
    const server = net.createServer(async (socket) => {
      socket.on('error', () => {});
      const accepted = await terminator.accept(socket).catch(() => undefined);
      if (accepted) h2.emit('connection', accepted.stream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    resolver.set('grpc.shop.svc.east.local:8080', [
      {
        address: '127.0.0.1',
        port: 8080,
        weight: 1,
        tlsIdentity: BACKEND,
        opaqueTransportPort: (server.address() as net.AddressInfo).port,
        labels: {},
      },
    ]);
    const port = await startGateway();
    const socket = await call(port, 'grpc.shop.svc.east.local', { protocol: 'http2' });
    const session = http2.connect('http://grpc.shop.svc.east.local:8080', { createConnection: () => socket });
    const answers = await Promise.all(
      ['/shop.Backend/One', '/shop.Backend/Two'].map(
        (path) =>
          new Promise<[string, string | undefined]>((resolve, reject) => {
            const request = session.request({
              ':method': 'POST',
              ':path': path,
              'content-type': 'application/grpc',
            });
            let body = '';
            let status: string | undefined;
            request.on('data', (chunk) => {
              body += chunk;
            });
            request.on('trailers', (trailers) => {
              status = trailers['grpc-status'] as string;
            });
            request.on('end', () => resolve([body, status]));
            request.on('error', reject);
            request.end();
          }),
      ),
    );
    assert.deepEqual(answers, [
      ['path=/shop.Backend/One', '0'],
      ['path=/shop.Backend/Two', '0'],
    ]);
    session.close();
    server.close();
  });

  it('answers its probe on the admin port', async () => {
    const { adminPort } = await listenGateway();
    const response = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    assert.equal(response.status, 200);
    assert.match(
      await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text(),
      /gateway_connections_total/,
    );
  });
});

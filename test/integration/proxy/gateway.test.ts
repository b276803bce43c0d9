import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { StaticResolver } from '../../../src/proxy/discovery/static.ts';
import { createInboundTerminator } from '../../../src/proxy/inbound/terminator.ts';
import { OutboundClient } from '../../../src/proxy/outbound/client.ts';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import type { Credentials } from '../../../src/proxy/transport/credentials.ts';
import { relay } from '../../../src/proxy/transport/relay.ts';
import { listen, memoryLog, metricValue, proxyWith, scrape, testMesh, viaProxy, waitFor } from './helpers.ts';

/**
 * A minimal gateway built from the proxy's exported pieces: terminate mTLS and
 * read the header, then resolve the named target and forward with the
 * caller's identity.
 */
async function startGateway(credentials: Credentials, resolver: StaticResolver) {
  const log = memoryLog();
  const terminator = createInboundTerminator({ credentials, isTrustedForwarder: () => false, log });
  const client = new OutboundClient({ resolver, credentials, log, fallbackDirect: false });
  const server = net.createServer({ allowHalfOpen: true }, async (socket) => {
    socket.on('error', () => {});
    try {
      const accepted = await terminator.accept(socket);
      const header = accepted.header;
      if (!header?.name) throw new Error('no target name');
      const { socket: upstream } = await client.connect(`${header.name}:${header.port}`, header.protocol, {
        ...(accepted.clientIdentity ? { clientIdentity: accepted.clientIdentity } : {}),
      });
      relay(accepted.stream, upstream);
    } catch (error) {
      log.info('gateway refused', { error: String(error) });
      socket.destroy();
    }
  });
  const port = await listen(server);
  const close = () => {
    server.close();
    client.close();
  };
  return { port, close, log };
}

describe('a request across clusters through a gateway (authority override + forwarded identity)', () => {
  const mesh = testMesh();
  const webId = mesh.identity('web', 'shop');
  const backendId = mesh.identity('backend', 'shop');
  let app: http.Server;
  let appPort: number;
  let backendProxy: RunningProxy;
  const backendLog = memoryLog();
  let client: RunningProxy;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let impostor: Awaited<ReturnType<typeof startGateway>>;
  const hosts: string[] = [];
  const callers: string[] = [];

  before(async () => {
    app = http.createServer((req, res) => {
      hosts.push(String(req.headers.host));
      callers.push(String(req.headers['strait-client-id']));
      res.end('from east');
    });
    appPort = await listen(app);
    backendProxy = await proxyWith(
      { policy: { [appPort]: { authorizations: [{ authentication: { identities: [webId] } }] } } },
      { credentials: mesh.credentials('backend', 'shop'), log: backendLog },
    );
    const eastResolver = new StaticResolver({
      'backend.shop.svc.cluster.local:8080': [
        {
          address: '127.0.0.1',
          port: appPort,
          weight: 1,
          tlsIdentity: backendId,
          opaqueTransportPort: backendProxy.ports.inbound,
          labels: {},
        },
      ],
    });
    gateway = await startGateway(mesh.credentials('strait-gateway', 'strait-multicluster'), eastResolver);
    impostor = await startGateway(mesh.credentials('not-a-gateway', 'shop'), eastResolver);
    const viaGateway = (port: number, identity: string) => ({
      address: '127.0.0.1',
      port,
      weight: 1,
      tlsIdentity: identity,
      opaqueTransportPort: port,
      authorityOverride: 'backend.shop.svc.cluster.local:8080',
      labels: { target_cluster: 'east' },
    });
    client = await proxyWith(
      {
        endpoints: {
          'backend-east.shop.svc.cluster.local:8080': [
            viaGateway(gateway.port, mesh.identity('strait-gateway', 'strait-multicluster')),
          ],
          'backend-fake.shop.svc.cluster.local:8080': [
            viaGateway(impostor.port, mesh.identity('not-a-gateway', 'shop')),
          ],
        },
      },
      { credentials: mesh.credentials('web', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await backendProxy.close();
    gateway.close();
    impostor.close();
    app.close();
  });

  it('rewrites the authority, and the backend admits the original caller forwarded by a trusted gateway', async () => {
    const res = await viaProxy(
      client.ports.outbound,
      'http://backend-east.shop.svc.cluster.local:8080/orders',
    );
    assert.equal(res.status, 200);
    assert.equal(res.body, 'from east');
    assert.equal(hosts.at(-1), 'backend.shop.svc.cluster.local:8080');
    assert.equal(callers.at(-1), webId, 'the application is told the original caller, not the gateway');
    const metrics = await scrape(client.ports.admin);
    assert.ok(metricValue(metrics, 'response_total', 'target_cluster="east"', 'status_code="200"') >= 1);
    const backendMetrics = await scrape(backendProxy.ports.admin);
    assert.ok(metricValue(backendMetrics, 'tcp_open_total', `client_id="${webId}"`) >= 1);
  });

  it('ignores an identity forwarded by a peer that is not a trusted forwarder', async () => {
    const res = await viaProxy(
      client.ports.outbound,
      'http://backend-fake.shop.svc.cluster.local:8080/orders',
    );
    assert.equal(res.status, 403, "refused per request by the backend's policy");
    await waitFor(() => backendLog.lines.some((l) => l.includes('not a trusted forwarder')));
    assert.ok(backendLog.lines.some((l) => l.includes('refuses not-a-gateway.shop')));
  });
});

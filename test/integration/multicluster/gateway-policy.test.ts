// Beyond Linkerd: the caller's verified identity survives the gateway, so the
// target's proxy admits or refuses by the original client, and nobody can
// forge it — neither through the gateway nor by talking to the proxy directly.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gatewayAuthorization } from '../../../src/multicluster/gateway/authorization.ts';
import { createGateway, type Gateway } from '../../../src/multicluster/gateway/gateway.ts';
import { defaultProxyConfig } from '../../../src/proxy/config.ts';
import { StaticResolver } from '../../../src/proxy/discovery/static.ts';
import { OutboundClient } from '../../../src/proxy/outbound/client.ts';
import { type RunningProxy, startProxy } from '../../../src/proxy/proxy.ts';
import { connectMeshed } from '../../../src/proxy/transport/connect.ts';
import type { Credentials } from '../../../src/proxy/transport/credentials.ts';
import { encodeTransportHeader } from '../../../src/proxy/transport/header.ts';
import {
  BACKEND,
  CLIENT,
  credentialsFor,
  east,
  exchange,
  GATEWAY,
  id,
  log,
  west,
  writeIdentityFiles,
} from './mesh-fixtures.ts';

const INTRUDER = id('intruder', 'shop');

describe('gateway and the target’s policy', () => {
  let app: net.Server;
  let appPort: number;
  let proxy: RunningProxy;
  let gateway: Gateway;
  let gatewayPort: number;

  let dir: string;

  before(async () => {
    // The application: answers with what it received.
    app = net.createServer((socket) => socket.once('data', (data) => socket.end(`app got ${data}`)));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appPort = (app.address() as net.AddressInfo).port;

    // The backend's real proxy: only web.shop may reach the application's port.
    dir = mkdtempSync(join(tmpdir(), 'strait-gw-policy-'));
    const config = defaultProxyConfig();
    config.logLevel = 'error';
    config.identity = writeIdentityFiles(dir, BACKEND, east);
    for (const listener of [config.inbound, config.outbound, config.admin, config.tap]) {
      listener.host = '127.0.0.1';
      listener.port = 0;
    }
    config.policy = {
      [String(appPort)]: {
        name: 'backend-http',
        authorizations: [
          {
            name: 'web-only',
            networks: [],
            authentication: { kind: 'identities', identities: [CLIENT], suffixes: [] },
          },
        ],
      },
    };
    proxy = await startProxy(config, { log });

    const resolver = new StaticResolver({
      'backend.shop.svc.east.local:80': [
        {
          address: '127.0.0.1',
          port: appPort,
          weight: 1,
          tlsIdentity: BACKEND,
          opaqueTransportPort: proxy.ports.inbound,
          labels: {},
        },
      ],
    });
    const gatewayCredentials = credentialsFor(GATEWAY, east);
    gateway = createGateway({
      credentials: gatewayCredentials,
      clusterDomain: 'east.local',
      outbound: new OutboundClient({ resolver, credentials: gatewayCredentials, log, fallbackDirect: false }),
      authorization: gatewayAuthorization(),
      log,
    });
    gatewayPort = (await gateway.listen({ host: '127.0.0.1', port: 0, adminPort: 0 })).port;
  });

  after(async () => {
    await gateway.close();
    await proxy.close();
    app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const throughGateway = (credentials: Credentials, clientIdentity?: string) =>
    connectMeshed({
      host: '127.0.0.1',
      port: gatewayPort,
      identity: GATEWAY,
      credentials,
      header: encodeTransportHeader({
        name: 'backend.shop.svc.east.local',
        port: 80,
        protocol: 'opaque',
        ...(clientIdentity ? { clientIdentity } : {}),
      }),
      connectTimeoutMs: 5000,
    });

  it('admits the allowed caller from another cluster through the gateway', async () => {
    assert.equal(
      await exchange(await throughGateway(credentialsFor(CLIENT, west)), 'hello'),
      'app got hello',
    );
  });

  it('refuses a caller the policy does not allow, though the gateway itself is allowed to forward', async () => {
    assert.equal(await exchange(await throughGateway(credentialsFor(INTRUDER, west)), 'hello'), '');
  });

  it('ignores an identity a caller claims, through the gateway or straight to the proxy', async () => {
    const intruder = credentialsFor(INTRUDER, west);
    assert.equal(await exchange(await throughGateway(intruder, CLIENT), 'hello'), '');
    const direct = await connectMeshed({
      host: '127.0.0.1',
      port: proxy.ports.inbound,
      identity: BACKEND,
      credentials: intruder,
      header: encodeTransportHeader({ name: '', port: appPort, protocol: 'opaque', clientIdentity: CLIENT }),
      connectTimeoutMs: 5000,
    });
    assert.equal(await exchange(direct, 'hello'), '');
  });
});

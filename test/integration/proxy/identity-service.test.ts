import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CredentialError } from '../../../src/control-plane/identity/credential.ts';
import {
  type IdentityServiceHandle,
  startIdentityService,
} from '../../../src/control-plane/identity/service.ts';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, meshedEndpoint, proxyWith, testMesh, viaProxy } from './helpers.ts';

describe('a proxy that gets its identity from the identity service', () => {
  const mesh = testMesh();
  const webId = mesh.identity('web', 'shop');
  let service: IdentityServiceHandle;
  let app: http.Server;
  let server: RunningProxy;
  let client: RunningProxy;
  let authority: string;

  before(async () => {
    service = await startIdentityService({
      issuer: mesh.issuer,
      trustBundle: mesh.anchorPem,
      port: 0,
      validator: {
        async validate(token, requested, caller) {
          if (new TextDecoder().decode(token) !== 'token-of-frontend')
            throw new CredentialError(caller, 'unknown token');
          return { identity: requested };
        },
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'strait-proxy-identity-'));
    writeFileSync(join(dir, 'token'), 'token-of-frontend\n');
    writeFileSync(join(dir, 'bundle.pem'), mesh.anchorPem);
    app = http.createServer((_req, res) => res.end('hello'));
    const appPort = await listen(app);
    authority = `web.shop.svc.cluster.local:${appPort}`;
    server = await proxyWith({}, { credentials: mesh.credentials('web', 'shop') });
    client = await proxyWith({
      identityService: {
        address: `127.0.0.1:${service.port}`,
        serverIdentity: service.identity,
        trustBundleFile: join(dir, 'bundle.pem'),
        identity: mesh.identity('frontend', 'shop'),
        tokenFile: join(dir, 'token'),
      },
      endpoints: { [authority]: [meshedEndpoint(server, appPort, webId)] },
    });
  });

  after(async () => {
    await client.close();
    await server.close();
    await service.close();
    app.close();
  });

  it('is certified by the service and uses that certificate for mTLS', async () => {
    assert.equal(client.credentials?.identity, mesh.identity('frontend', 'shop'));
    const res = await viaProxy(client.ports.outbound, `http://${authority}/`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'hello');
  });
});

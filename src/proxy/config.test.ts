import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadProxyConfig } from './config.ts';
import { ProxyConfigError } from './errors.ts';

describe('proxy configuration', () => {
  it('has the documented default ports', () => {
    const config = loadProxyConfig({});
    assert.deepEqual(
      [config.outbound.port, config.inbound.port, config.admin.port, config.tap.port],
      [4140, 4143, 4191, 4190],
    );
    assert.equal(config.outbound.host, '127.0.0.1');
  });

  it('reads a YAML file and lets the environment win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strait-proxy-'));
    const file = join(dir, 'proxy.yaml');
    writeFileSync(
      file,
      [
        'inbound: { host: 127.1.0.7, port: 4143, appPort: 8080 }',
        'opaquePorts: [3306]',
        'endpoints:',
        '  web.shop.svc.cluster.local:8080:',
        '    - { address: 127.1.0.8, port: 8080, tlsIdentity: web.shop.serviceaccount.identity.strait.cluster.local, opaqueTransportPort: 4143, weight: 2 }',
        'policy:',
        '  "8080": { authorizations: [ { authentication: meshTls, networks: [10.0.0.0/8] } ] }',
      ].join('\n'),
    );
    const config = loadProxyConfig({ STRAIT_PROXY_CONFIG: file, STRAIT_PROXY_ADMIN_ADDR: '127.1.0.7:5191' });
    assert.equal(config.inbound.host, '127.1.0.7');
    assert.equal(config.inbound.appPort, 8080);
    assert.deepEqual(config.admin, { host: '127.1.0.7', port: 5191 });
    assert.deepEqual(config.opaquePorts, [3306]);
    assert.equal(config.endpoints['web.shop.svc.cluster.local:8080']?.[0]?.weight, 2);
    assert.equal(config.policy['8080']?.authorizations[0]?.authentication.kind, 'meshTls');
  });

  // Process tuning in milliseconds: a default, the file's value, the environment's over it, and 0 to turn it off.
  const tunings = [
    {
      key: 'memoryTrimMs',
      env: 'STRAIT_PROXY_MEMORY_TRIM_MS',
      default: 3000,
      what: 'trims freed memory every',
    },
    {
      key: 'idleCompilersAfterMs',
      env: 'STRAIT_PROXY_IDLE_COMPILERS_AFTER_MS',
      default: 15_000,
      what: 'moves compilers to idle priority after a CPU time of',
    },
    {
      key: 'memorySaverAfterMs',
      env: 'STRAIT_PROXY_MEMORY_SAVER_AFTER_MS',
      default: 200,
      what: 'puts the heap in memory-saver mode after a CPU time of',
    },
  ] as const;
  for (const tuning of tunings) {
    it(`${tuning.what} ${tuning.default} ms unless the file or the environment says otherwise`, () => {
      assert.equal(loadProxyConfig({})[tuning.key], tuning.default);
      const dir = mkdtempSync(join(tmpdir(), 'strait-proxy-'));
      const file = join(dir, 'proxy.json');
      writeFileSync(file, JSON.stringify({ [tuning.key]: 30_000 }));
      assert.equal(loadProxyConfig({ STRAIT_PROXY_CONFIG: file })[tuning.key], 30_000);
      assert.equal(loadProxyConfig({ STRAIT_PROXY_CONFIG: file, [tuning.env]: '0' })[tuning.key], 0);
      assert.throws(
        () => loadProxyConfig({ [tuning.env]: 'soon' }),
        new RegExp(`${tuning.env} must be a number ≥ 0`),
      );
      writeFileSync(file, JSON.stringify({ [tuning.key]: -5 }));
      assert.throws(
        () => loadProxyConfig({ STRAIT_PROXY_CONFIG: file }),
        new RegExp(`${tuning.key} must be a number ≥ 0`),
      );
    });
  }

  it('names the bad input in its errors', () => {
    assert.throws(
      () => loadProxyConfig({ STRAIT_PROXY_OUTBOUND_ADDR: 'localhost' }),
      (e: unknown) =>
        e instanceof ProxyConfigError &&
        /STRAIT_PROXY_OUTBOUND_ADDR: "localhost" is not host:port/.test(e.message),
    );
    assert.throws(() => loadProxyConfig({ STRAIT_PROXY_OPAQUE_PORTS: '25,x' }), /OPAQUE_PORTS entry "x"/);
    assert.throws(() => loadProxyConfig({ STRAIT_PROXY_IDENTITY_CERT_FILE: '/x' }), /go together/);
    const dir = mkdtempSync(join(tmpdir(), 'strait-proxy-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ endpoints: { 'web:80': [{ address: '1.2.3.4', port: 70000 }] } }));
    assert.throws(
      () => loadProxyConfig({ STRAIT_PROXY_CONFIG: file }),
      /endpoints\.web:80\[0\]\.port: 70000 is not a port/,
    );
    assert.throws(
      () => loadProxyConfig({ STRAIT_PROXY_CONFIG: join(dir, 'missing.yaml') }),
      /cannot read config file/,
    );
  });

  it('takes the identity service trust anchors inline, refusing text that holds no certificate', () => {
    const service = {
      STRAIT_PROXY_IDENTITY_ADDR: 'strait-identity.strait.svc.cluster.local:8080',
      STRAIT_PROXY_IDENTITY_SERVER_NAME:
        'strait-identity.strait.serviceaccount.identity.strait.cluster.local',
      STRAIT_PROXY_IDENTITY: 'web.shop.serviceaccount.identity.strait.cluster.local',
      STRAIT_PROXY_TOKEN_FILE: '/var/run/strait/identity/token/token',
    };
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const inline = loadProxyConfig({ ...service, STRAIT_PROXY_TRUST_BUNDLE: pem });
    assert.equal(inline.identityService?.trustBundlePem, pem);
    assert.equal(inline.identityService?.trustBundleFile, undefined);
    const file = loadProxyConfig({ ...service, STRAIT_PROXY_TRUST_BUNDLE_FILE: '/roots/ca-bundle.crt' });
    assert.equal(file.identityService?.trustBundleFile, '/roots/ca-bundle.crt');
    assert.throws(
      () => loadProxyConfig({ ...service, STRAIT_PROXY_TRUST_BUNDLE: 'not a bundle' }),
      (e: unknown) =>
        e instanceof ProxyConfigError && /STRAIT_PROXY_TRUST_BUNDLE holds no PEM/.test(e.message),
    );
    assert.throws(() => loadProxyConfig(service), /STRAIT_PROXY_TRUST_BUNDLE_FILE is required/);
  });
});

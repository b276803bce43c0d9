import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { clusterFiles, readClusterConfig } from '../../../src/platform/local/cluster-config.ts';
import {
  ControlPlaneAccounts,
  controlPlaneIdentity,
} from '../../../src/platform/local/control-plane-identities.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { createWorkloadTokenKeys, WorkloadTokenIssuer } from '../../../src/platform/local/workload-token.ts';
import { requestCredentials } from '../../../src/proxy/identity/index.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { LocalClusters, localRunArgs } from '../../fixtures/local-clusters.ts';
import { joinManifests, namespaceManifest, serviceManifest } from '../../fixtures/manifests.ts';
import { strait } from '../../fixtures/strait-cli.ts';

const ECHO = fileURLToPath(new URL('./echo-app.mjs', import.meta.url));
const CALL = fileURLToPath(new URL('./call-app.mjs', import.meta.url));

const SERVICE = joinManifests(
  namespaceManifest('shop'),
  serviceManifest({
    name: 'backend',
    namespace: 'shop',
    ports: [{ name: 'http', port: 80, targetPort: 'http' }],
  }),
);

describe('workloads in the mesh (real processes)', { timeout: 900_000 }, () => {
  const clusters = new LocalClusters('strait-mesh-');
  const home = clusters.home;

  before(async () => {
    await clusters.up(['mesh']);
    await clusters.apply('mesh', SERVICE);
  });
  after(() => clusters.down());

  it('the cluster identity service certifies workload tokens of this cluster only', async () => {
    const dir = clusterDirectory(home, 'mesh');
    const config = readClusterConfig(dir);
    const files = clusterFiles(dir);
    const endpoint = {
      address: `${config.controlPlaneAddress}:${config.ports.identity}`,
      serverIdentity: controlPlaneIdentity(config, ControlPlaneAccounts.identity),
      trustBundlePem: readFileSync(files.trustAnchor, 'utf8'),
    };
    const identity = 'web.shop.serviceaccount.identity.strait.cluster.local';
    const issuer = new WorkloadTokenIssuer(readFileSync(files.workloadTokenKey, 'utf8'));
    const token = issuer.issue({ identity, namespace: 'shop', workload: 'web' });
    const credentials = await requestCredentials(endpoint, { identity, token: Buffer.from(token) });
    assert.ok(credentials);
    const forged = new WorkloadTokenIssuer(createWorkloadTokenKeys().privateKeyPem).issue({
      identity,
      namespace: 'shop',
      workload: 'web',
    });
    await assert.rejects(requestCredentials(endpoint, { identity, token: Buffer.from(forged) }), {
      code: 'E_CREDENTIAL_INVALID',
    });
  });

  it('gives an application that speaks mTLS itself its own certificate and the control plane addresses', async () => {
    const script = `const { X509Certificate } = require('node:crypto');
      const fs = require('node:fs');
      const cert = new X509Certificate(fs.readFileSync(process.env.STRAIT_CERT_FILE));
      console.log(cert.subjectAltName, (fs.statSync(process.env.STRAIT_KEY_FILE).mode & 0o777).toString(8));
      console.log(process.env.STRAIT_DESTINATION_ADDR, process.env.STRAIT_DESTINATION_IDENTITY);`;
    const run = await strait(
      home,
      localRunArgs(
        {
          cluster: 'mesh',
          namespace: 'strait-multicluster',
          serviceAccount: 'strait-gateway',
          name: 'gateway',
          proxy: false,
          identityFiles: true,
        },
        [process.execPath, '-e', script],
      ),
    );
    assert.equal(run.code, 0, run.stderr);
    const config = readClusterConfig(clusterDirectory(home, 'mesh'));
    assert.equal(
      run.stdout,
      'DNS:strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local 600\n' +
        `${config.controlPlaneAddress}:8086 strait-destination.strait.serviceaccount.identity.strait.cluster.local\n`,
    );
  });

  it('one workload calls another by service name over mTLS through their proxies', async () => {
    clusters.start(
      localRunArgs(
        {
          cluster: 'mesh',
          namespace: 'shop',
          serviceAccount: 'backend',
          name: 'backend',
          port: 'http=8080',
          readyPath: '/ready',
        },
        [process.execPath, ECHO],
      ),
    );
    const address = await eventually(
      'the backend to be ready',
      async () => (await clusters.endpointAddresses('mesh', 'shop', 'backend'))[0],
      180_000,
    );

    const call = await strait(
      home,
      localRunArgs({ cluster: 'mesh', namespace: 'shop', serviceAccount: 'frontend', name: 'frontend' }, [
        process.execPath,
        CALL,
        'http://backend.shop.svc.cluster.local:80/',
      ]),
    );
    assert.equal(call.code, 0, `${call.stdout}\n${call.stderr}`);
    assert.equal(call.stdout, '200 hello from backend\n');

    const metrics = await (await fetch(`http://${address}:4191/metrics`)).text();
    assert.match(
      metrics,
      /tcp_open_total\{[^}]*direction="inbound"[^}]*tls="true"[^}]*client_id="frontend\.shop\.serviceaccount\.identity\.strait\.cluster\.local"/,
    );
  });
});

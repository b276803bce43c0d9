import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { apiUrl, readClusterConfig } from '../../../src/platform/local/cluster-config.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { networkNamespacesSupported } from '../../../src/platform/local/netns.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { LocalClusters, localRunArgs } from '../../fixtures/local-clusters.ts';
import { joinManifests, namespaceManifest, serviceManifest } from '../../fixtures/manifests.ts';
import { stopProcess, strait } from '../../fixtures/strait-cli.ts';

const ECHO = fileURLToPath(new URL('./echo-app.mjs', import.meta.url));
const CALL = fileURLToPath(new URL('./call-app.mjs', import.meta.url));

const SERVICE = joinManifests(
  namespaceManifest('shop'),
  serviceManifest({ name: 'backend', namespace: 'shop', ports: [{ port: 80, targetPort: 8080 }] }),
);

// Network namespaces need root (CI runs as root); elsewhere this suite cannot run.
const unsupported = networkNamespacesSupported() ? false : 'network namespaces need root and iproute2';

describe('local clusters in network namespaces', { timeout: 900_000, skip: unsupported }, () => {
  const clusters = new LocalClusters('strait-netns-');
  const home = clusters.home;

  before(async () => {
    await clusters.up(['west', 'east'], { flags: ['--netns'], ownAnchors: true });
    await clusters.apply('east', SERVICE);
    clusters.start(
      localRunArgs(
        { cluster: 'east', namespace: 'shop', serviceAccount: 'backend', name: 'backend', port: 8080 },
        [process.execPath, ECHO],
      ),
    );
  });
  after(() => clusters.down());

  it('serves each cluster API on its link and calls within a cluster over mTLS', async () => {
    const address = await eventually(
      'the backend to be ready',
      async () => (await clusters.endpointAddresses('east', 'shop', 'backend'))[0],
      180_000,
    );
    assert.match(
      apiUrl(readClusterConfig(clusterDirectory(home, 'east'))),
      /^https:\/\/172\.31\.\d+\.2:6443$/,
    );

    const call = await strait(
      home,
      localRunArgs({ cluster: 'east', namespace: 'shop', serviceAccount: 'frontend', name: 'frontend' }, [
        process.execPath,
        CALL,
        'http://backend.shop.svc.cluster.local/',
      ]),
    );
    const proxyLog = join(clusterDirectory(home, 'east'), 'workloads', 'shop.frontend', 'proxy.log');
    assert.equal(call.code, 0, `${call.stdout}\n${call.stderr}\n${readFileSync(proxyLog, 'utf8')}`);
    assert.equal(call.stdout, '200 hello from backend\n');

    await assert.rejects(fetch(`http://${address}:8080/`, { signal: AbortSignal.timeout(2000) }));
    const probe = `fetch("http://${address}:8080/", { signal: AbortSignal.timeout(2000) })
      .then(() => console.log("reached"), () => console.log("unreachable"))`;
    const fromWest = await strait(
      home,
      localRunArgs({ cluster: 'west', namespace: 'shop', name: 'probe', proxy: false }, [
        process.execPath,
        '-e',
        probe,
      ]),
    );
    assert.equal(fromWest.stdout, 'unreachable\n', fromWest.stderr);
  });

  it('reaches across clusters only what listens on a cluster link address', async () => {
    const link = readClusterConfig(clusterDirectory(home, 'east')).externalAddress as string;
    const edge = clusters.start(
      localRunArgs(
        { cluster: 'east', namespace: 'shop', name: 'edge', address: link, port: 8443, proxy: false },
        [process.execPath, ECHO],
      ),
    );
    try {
      const probe = `const url = "http://${link}:8443/";
        const tryOnce = () => fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.text());
        (async () => { for (let i = 0; i < 60; i++) { try { process.stdout.write(await tryOnce()); return; }
          catch { await new Promise((r) => setTimeout(r, 500)); } } console.log("unreachable"); })();`;
      const fromWest = await strait(
        home,
        localRunArgs({ cluster: 'west', namespace: 'shop', name: 'probe', proxy: false }, [
          process.execPath,
          '-e',
          probe,
        ]),
      );
      assert.equal(fromWest.stdout, 'hello from edge\n', fromWest.stderr);
    } finally {
      await stopProcess(edge);
    }
    const outside = await strait(
      home,
      localRunArgs({ cluster: 'east', namespace: 'shop', name: 'stray', address: '10.9.9.9', proxy: false }, [
        'true',
      ]),
    );
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /--address 10\.9\.9\.9 is not an address of cluster east/);
  });
});

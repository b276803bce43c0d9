import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Event, Service } from '../../../src/core/api/core.ts';
import type { Workload } from '../../../src/core/api/local.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { createApiStore } from '../../../src/platform/local/api/client.ts';
import { requestServiceAccountToken } from '../../../src/platform/local/api/token-request.ts';
import { apiUrl, clusterFiles, readClusterConfig } from '../../../src/platform/local/cluster-config.ts';
import { openClusterStore } from '../../../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { LocalClusters, localRunArgs } from '../../fixtures/local-clusters.ts';
import { joinManifests, namespaceManifest, serviceManifest } from '../../fixtures/manifests.ts';
import { stopProcess, strait, straitJson } from '../../fixtures/strait-cli.ts';

const APP = fileURLToPath(new URL('./echo-app.mjs', import.meta.url));

const MANIFEST = joinManifests(
  namespaceManifest('shop'),
  serviceManifest({ name: 'web', namespace: 'shop', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
);

describe('local clusters (real processes)', { timeout: 900_000 }, () => {
  const clusters = new LocalClusters('strait-local-');
  const home = clusters.home;
  const readyEndpoints = (cluster: string) => clusters.endpointAddresses(cluster, 'shop', 'web');
  const workloads = (cluster: string) =>
    clusters.withStore(
      cluster,
      async (store) => (await store.list<Workload>(Kinds.Workload, { namespace: 'shop' })).items,
    );

  before(() => clusters.up(['west', 'east']));
  after(() => clusters.down());

  it('runs two clusters on one host, each on its own loopback block', async () => {
    const listed = await straitJson<{ name: string; ready: boolean; addresses: string }[]>(home, [
      'local',
      'status',
      '-o',
      'json',
    ]);
    assert.deepEqual(
      listed.map((c) => [c.name, c.ready]),
      [
        ['east', true],
        ['west', true],
      ],
    );
    assert.notEqual(listed[0]?.addresses, listed[1]?.addresses);
    const table = await strait(home, ['local', 'status']);
    assert.match(table.stdout, /west\s+Running/);
  });

  it('shares the trust anchor given to up, with an issuer per cluster, and refuses bad trust input', async () => {
    const pem = (cluster: string, file: string) =>
      readFileSync(join(clusterDirectory(home, cluster), 'pki', file), 'utf8');
    assert.equal(pem('east', 'trust-anchor.crt'), pem('west', 'trust-anchor.crt'));
    assert.notEqual(pem('east', 'issuer.crt'), pem('west', 'issuer.crt'));

    const pki = join(clusterDirectory(home, 'west'), 'pki');
    const noKey = await strait(home, [
      'local',
      'up',
      '--cluster',
      'north',
      '--trust-anchor-cert',
      join(pki, 'trust-anchor.crt'),
    ]);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /give --trust-anchor-key or --issuer-cert/);
    const notCa = await strait(home, [
      'local',
      'up',
      '--cluster',
      'north',
      '--trust-anchor-cert',
      join(pki, 'api.crt'),
      '--trust-anchor-key',
      join(pki, 'api.key'),
    ]);
    assert.equal(notCa.code, 1);
    assert.match(notCa.stderr, /E_CERT_NOT_CA/);
    const listed = await straitJson<{ name: string }[]>(home, ['local', 'status', '-o', 'json']);
    assert.deepEqual(
      listed.map((c) => c.name),
      ['east', 'west'],
    );
  });

  it('applies, gets and deletes resources through the CLI, per context', async () => {
    const applied = await strait(home, ['local', 'apply', '--context', 'east', '-f', '-'], MANIFEST);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /service\/web created/);
    const getArgs = ['local', 'get', 'svc', 'web', '-n', 'shop', '--context', 'east', '-o', 'json'];
    const got = await straitJson<Service>(home, getArgs);
    assert.equal(got.spec?.ports?.[0]?.targetPort, 8080);
    const inWest = await strait(home, ['local', 'get', 'svc', 'web', '-n', 'shop', '--context', 'west']);
    assert.equal(inWest.code, 1);
    assert.match(inWest.stderr, /not found/);

    const bad = await strait(
      home,
      ['local', 'apply', '--context', 'east', '-f', '-'],
      'apiVersion: v1\nkind: Gizmo\nmetadata:\n  name: x\n',
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /stdin, document 1: kind v1\/Gizmo is not known/);
    const invalid = await strait(
      home,
      ['local', 'apply', '--context', 'east', '-f', '-'],
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\n  namespace: shop\nspec:\n  ports:\n    - port: 70000\n',
    );
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /spec\.ports\[0\]\.port/);

    await strait(
      home,
      ['local', 'apply', '--context', 'east', '-f', '-'],
      MANIFEST.replace(/name: web/, 'name: temp'),
    );
    const deleted = await strait(home, ['local', 'delete', 'svc', 'temp', '-n', 'shop', '--context', 'east']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /service\/temp deleted/);
    const again = await strait(home, ['local', 'delete', 'svc', 'temp', '-n', 'shop', '--context', 'east']);
    assert.equal(again.code, 1);
  });

  it('registers a running workload, fills Endpoints, and unregisters it when it exits', async () => {
    const run = clusters.start(
      localRunArgs(
        {
          cluster: 'east',
          namespace: 'shop',
          serviceAccount: 'web',
          name: 'web',
          port: 'http=8080',
          readyPath: '/ready',
          proxy: false,
        },
        [process.execPath, APP],
      ),
    );
    const exitCode = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
    const [address] = await eventually('a ready endpoint', async () => {
      const ips = await readyEndpoints('east');
      return ips.length > 0 ? ips : undefined;
    });
    assert.match(address as string, /^127\.\d+\.1\.1$/);
    const answer = await fetch(`http://${address}:8080/`);
    assert.equal(await answer.text(), 'hello from web\n');

    await fetch(`http://${address}:8080/exit`);
    assert.equal(await exitCode, 3);
    assert.deepEqual(await workloads('east'), []);
    await eventually('empty endpoints', async () =>
      (await readyEndpoints('east')).length === 0 ? true : undefined,
    );
  });

  it('unregisters a workload whose supervisor was killed, and stops its application', async () => {
    const run = clusters.start(
      localRunArgs({ cluster: 'east', namespace: 'shop', name: 'web', port: 8080, proxy: false }, [
        process.execPath,
        APP,
      ]),
    );
    const [workload] = await eventually('a ready workload', async () => {
      const list = await workloads('east');
      return list.some((w) => w.status?.ready) ? list : undefined;
    });
    const appPid = workload?.status?.pid as number;
    run.kill('SIGKILL');
    await eventually('the workload to be unregistered', async () =>
      (await workloads('east')).length === 0 ? true : undefined,
    );
    const store = openClusterStore(clusterDirectory(home, 'east'));
    const events = await store.list<Event>(Kinds.Event, { namespace: 'shop' });
    store.close();
    assert.ok(
      events.items.some((e) => e.reason === 'Unregistered' && e.involvedObject.name === 'web'),
      'an Unregistered event about the workload',
    );
    await eventually('the application to stop', async () => {
      try {
        process.kill(appPid, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    await eventually('empty endpoints', async () =>
      (await readyEndpoints('east')).length === 0 ? true : undefined,
    );
  });

  it('gives workloads started at the same moment distinct addresses', async () => {
    const runs = ['one', 'two', 'three'].map((name) =>
      clusters.start(
        localRunArgs({ cluster: 'west', namespace: 'shop', name, port: 9000, proxy: false }, [
          process.execPath,
          APP,
        ]),
      ),
    );
    try {
      const ready = await eventually(
        'three ready workloads',
        async () => {
          const list = (await workloads('west')).filter((w) => w.status?.ready);
          return list.length === 3 ? list : undefined;
        },
        60_000,
      );
      assert.equal(new Set(ready.map((w) => w.status?.address)).size, 3);
    } finally {
      await Promise.all(runs.map(stopProcess));
    }
    await eventually('the workloads to be gone', async () =>
      (await workloads('west')).length === 0 ? true : undefined,
    );
  });

  it('refuses a bad token (401) and a token without rights (403) on the store API', async () => {
    const dir = clusterDirectory(home, 'east');
    const config = readClusterConfig(dir);
    const ca = readFileSync(clusterFiles(dir).apiCa, 'utf8');
    const forged = createApiStore({ server: apiUrl(config), ca, token: 'forged' });
    await assert.rejects(forged.list(Kinds.Service), { code: 'E_UNAUTHORIZED' });
    forged.close();

    const admin = openClusterStore(dir);
    await admin.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'nobody', namespace: 'shop' },
    });
    const { token } = await requestServiceAccountToken(admin, { namespace: 'shop', name: 'nobody' });
    admin.close();
    const nobody = createApiStore({ server: apiUrl(config), ca, token });
    await assert.rejects(nobody.list(Kinds.Service, { namespace: 'shop' }), { code: 'E_FORBIDDEN' });
    nobody.close();

    const westConfig = readClusterConfig(clusterDirectory(home, 'west'));
    const wrongCluster = createApiStore({
      server: apiUrl(westConfig),
      ca: readFileSync(clusterFiles(clusterDirectory(home, 'west')).apiCa, 'utf8'),
      token,
    });
    await assert.rejects(wrongCluster.list(Kinds.Service, { namespace: 'shop' }), { code: 'E_UNAUTHORIZED' });
    wrongCluster.close();
  });

  it('stops a cluster with down, and keeps its state for the next up', async () => {
    const down = await strait(home, ['local', 'down', '--cluster', 'west']);
    assert.equal(down.code, 0, down.stderr);
    const status = await strait(home, ['local', 'status', '--cluster', 'west']);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /west\s+Stopped/);
    const up = await strait(home, ['local', 'up', '--cluster', 'west']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /cluster west exists; control plane started/);
  });
});

// The multi-cluster scenario with real processes: two local clusters (west,
// east) sharing one trust anchor with separate issuers; east's control plane
// runs its gateway after `mc install`, west's follows the Link with its
// service mirror; a west workload calls `backend-east` and gets east's answer
// over mTLS through the gateway. As root each cluster runs in its own network
// namespace, so the only way between them is what binds a cluster's link
// address (its API and gateway); otherwise each has its own loopback block.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { LocalClusters, localRunArgs } from '../../fixtures/local-clusters.ts';
import { joinManifests, namespaceManifest, serviceManifest } from '../../fixtures/manifests.ts';
import { setGatewayReplicas } from './gateway-control.ts';
import { CALL, NETNS, startEchoInEast, upLinked } from './linked-clusters.ts';
import { exchange } from './mesh-fixtures.ts';

const GATEWAY_ID = 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local';

const EXPORTED_BACKEND = joinManifests(
  namespaceManifest('shop'),
  serviceManifest({
    name: 'backend',
    namespace: 'shop',
    labels: { 'mirror.strait.io/exported': 'true' },
    ports: [{ name: 'http', port: 80, targetPort: 'http' }],
  }),
);

describe(`two linked clusters (real processes${NETNS ? ', network namespaces' : ''})`, {
  timeout: 900_000,
}, () => {
  const clusters = new LocalClusters('strait-mc-');
  const home = clusters.home;
  /** Where east's gateway is: its link address (its loopback address without namespaces). */
  const eastGateway = () => clusters.linkAddress('east');
  /** The Endpoints of west's mirror `backend-east` (undefined while there is none). */
  const mirrorEndpoints = () =>
    clusters.withStore('west', (store) =>
      store.get<Endpoints>({ ...Kinds.Endpoints, namespace: 'shop', name: 'backend-east' }),
    );

  before(async () => {
    // East's control plane runs the gateway once it is installed; nothing is started by hand.
    const installed = await upLinked(clusters);
    assert.match(installed, /gateway running in the control plane \(ready, pid \d+\)/);
    await clusters.apply('east', EXPORTED_BACKEND);
    startEchoInEast(clusters, 'backend', { serviceAccount: 'backend' });
  });

  after(() => clusters.down());

  it('mirrors east’s exported service into west as backend-east, at east’s gateway', async () => {
    const endpoints = await eventually(
      'the mirror of backend in west',
      async () => {
        const service = await clusters.withStore('west', (store) =>
          store.get<Service>({ ...Kinds.Service, namespace: 'shop', name: 'backend-east' }),
        );
        const eps = await mirrorEndpoints();
        return service && eps?.subsets?.[0]?.addresses?.length ? eps : undefined;
      },
      180_000,
    );
    assert.deepEqual(endpoints.subsets?.[0]?.addresses, [{ ip: eastGateway() }]);
    assert.equal(endpoints.subsets?.[0]?.ports?.[0]?.port, 4143);
  });

  it('a west workload calls backend-east and gets east’s answer through the gateway', async () => {
    const backendAddress = await eventually(
      'the backend in east to be ready',
      async () => (await clusters.endpointAddresses('east', 'shop', 'backend'))[0],
      180_000,
    );
    const stdout = await clusters.run(
      localRunArgs({ cluster: 'west', namespace: 'shop', serviceAccount: 'frontend', name: 'frontend' }, [
        process.execPath,
        CALL,
        'http://backend-east.shop.svc.cluster.local:80/',
      ]),
    );
    assert.equal(stdout, '200 hello from backend\n');
    const gatewayMetrics = await (await fetch(`http://${eastGateway()}:4191/metrics`)).text();
    assert.match(gatewayMetrics, /gateway_connections_total\{outcome="forwarded"\} [1-9]/);
    // The backend's proxy saw the west caller's identity, carried by the gateway. Its admin
    // port is reached from inside east (with namespaces, the host cannot reach it).
    const backendMetrics = await clusters.run(
      localRunArgs({ cluster: 'east', namespace: 'shop', name: 'metrics-reader', proxy: false }, [
        process.execPath,
        '-e',
        `fetch("http://${backendAddress}:4191/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))`,
      ]),
    );
    assert.match(
      backendMetrics,
      /direction="inbound"[^}]*client_id="frontend\.shop\.serviceaccount\.identity\.strait\.cluster\.local"/,
    );
  });

  it('east’s gateway refuses a client without a certificate', async () => {
    const socket = tls.connect({
      host: eastGateway(),
      port: 4143,
      servername: GATEWAY_ID,
      rejectUnauthorized: false,
    });
    assert.equal(
      await exchange(socket, 'GET / HTTP/1.1\r\nhost: backend.shop.svc.cluster.local\r\n\r\n'),
      '',
    );
  });

  it('mc gateways shows east alive with its probe latency; mc check passes', async () => {
    const table = await eventually(
      'east alive in mc gateways',
      async () => {
        const out = await clusters.run(['mc', 'gateways', '--context', 'west']);
        return /^east\s+true\s+1\s+\d+ms/m.test(out) ? out : undefined;
      },
      90_000,
    );
    assert.match(table, /CLUSTER\s+ALIVE\s+NUM_SVC\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99/);
    const check = await clusters.strait(['mc', 'check', '--context', 'west']);
    assert.equal(check.code, 0, check.stdout);
    assert.match(check.stdout, /✓ trust anchor shared with the target’s gateway/);
  });

  it('stopping east’s gateway (replicas "0") marks the mirror not ready within the probe window', async () => {
    await setGatewayReplicas(home, 'east', 0);
    await eventually(
      'the mirror endpoints not ready',
      async () => {
        const subset = (await mirrorEndpoints())?.subsets?.[0];
        return subset?.notReadyAddresses?.length && !subset.addresses?.length ? true : undefined;
      },
      90_000,
    );
    const check = await clusters.strait(['mc', 'check', '--context', 'west']);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /× gateway alive/);
    await setGatewayReplicas(home, 'east', 1);
    await eventually(
      'the mirror endpoints ready again',
      async () => ((await mirrorEndpoints())?.subsets?.[0]?.addresses?.length ? true : undefined),
      90_000,
    );
  });

  it('unlink removes the Link, its credential and every mirror', async () => {
    await clusters.run(['mc', 'unlink', '--context', 'west', '--cluster-name', 'east']);
    await clusters.withStore('west', async (store) => {
      const mirrors = await store.list(Kinds.Service, {
        labelSelector: 'mirror.strait.io/cluster-name=east',
      });
      assert.deepEqual(mirrors.items, []);
      assert.equal(
        await store.get({
          ...Kinds.Secret,
          namespace: 'strait-multicluster',
          name: 'cluster-credentials-east',
        }),
        undefined,
      );
    });
  });

  it('mc allow makes a separate credential that can be revoked alone; uninstall removes the components', async () => {
    const linkGen = ['mc', 'link-gen', '--context', 'east', '--cluster-name', 'east'];
    await clusters.run(['mc', 'allow', '--context', 'east', '--name', 'north']);
    assert.match(await clusters.run([...linkGen, '--service-account', 'north']), /kind: Link/);
    await clusters.run(['mc', 'allow', '--context', 'east', '--name', 'north', '--revoke']);
    const refused = await clusters.strait([...linkGen, '--service-account', 'north']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /E_MC_CREDENTIAL/);
    // The default credential is unaffected.
    assert.match(await clusters.run(linkGen), /kind: Secret/);

    await clusters.run(['mc', 'uninstall', '--context', 'east']);
    const gone = await clusters.strait(linkGen);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /E_MC_NOT_INSTALLED/);
  });
});

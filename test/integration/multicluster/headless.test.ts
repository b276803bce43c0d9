// Headless services across clusters with real processes: east runs a headless
// service with two named workloads and exports it; west calls each pod by its
// per-pod name `<pod>.<svc>-east`, and each answer comes from that exact east
// workload (west's destination hands the proxy east's gateway with the
// authority override `<pod>.<svc>.<ns>.svc.<east domain>`; the gateway resolves
// it through east's destination to that one pod).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { LocalClusters, localRunArgs } from '../../fixtures/local-clusters.ts';
import { joinManifests, namespaceManifest, serviceManifest } from '../../fixtures/manifests.ts';
import { stopProcess } from '../../fixtures/strait-cli.ts';
import { CALL, NETNS, startEchoInEast, upLinked } from './linked-clusters.ts';

const PODS = ['web-0', 'web-1'];

const EXPORTED_HEADLESS = joinManifests(
  namespaceManifest('shop'),
  serviceManifest({
    name: 'web',
    namespace: 'shop',
    labels: { 'mirror.strait.io/exported': 'true' },
    clusterIP: 'None',
    selector: { set: 'web' },
    ports: [{ name: 'http', port: 80, targetPort: 'http' }],
  }),
);

describe(`a headless service across linked clusters (real processes${NETNS ? ', network namespaces' : ''})`, {
  timeout: 900_000,
}, () => {
  const clusters = new LocalClusters('strait-mc-headless-');
  const pods: ChildProcess[] = [];
  const read = <T extends Service | Endpoints>(
    kind: typeof Kinds.Service | typeof Kinds.Endpoints,
    name: string,
  ) => clusters.withStore('west', (store) => store.get<T>({ ...kind, namespace: 'shop', name }));
  const eastGateway = () => clusters.linkAddress('east');
  /** A west workload that calls `url` once; resolves what it printed. */
  const callFromWest = (name: string, url: string) =>
    clusters.run(
      localRunArgs({ cluster: 'west', namespace: 'shop', serviceAccount: 'caller', name }, [
        process.execPath,
        CALL,
        url,
      ]),
    );

  before(async () => {
    await upLinked(clusters);
    await clusters.apply('east', EXPORTED_HEADLESS);
    for (const pod of PODS)
      pods.push(startEchoInEast(clusters, pod, { serviceAccount: 'web', labels: { set: 'web' } }));
  });

  after(() => clusters.down());

  it('mirrors the headless service with one endpoint mirror per pod, each at east’s gateway', async () => {
    const headless = await eventually(
      'the headless mirror of web in west with both pods',
      async () => {
        const eps = await read<Endpoints>(Kinds.Endpoints, 'web-east');
        const hosts = (eps?.subsets?.[0]?.addresses ?? []).map((a) => a.hostname).sort();
        return hosts.join(',') === PODS.join(',') ? eps : undefined;
      },
      240_000,
    );
    assert.equal((await read<Service>(Kinds.Service, 'web-east'))?.spec?.clusterIP, 'None');
    assert.deepEqual(
      headless.subsets?.[0]?.addresses?.map((a) => [a.hostname, a.ip, a.targetRef?.name]),
      PODS.map((pod) => [pod, eastGateway(), `${pod}-east`]),
    );
    assert.equal(headless.subsets?.[0]?.ports?.[0]?.port, 4143);
    for (const pod of PODS) {
      const mirror = await read<Service>(Kinds.Service, `${pod}-east`);
      assert.equal(
        mirror?.metadata.annotations?.['mirror.strait.io/remote-svc-fq-name'],
        `${pod}.web.shop.svc.cluster.local`,
      );
      assert.equal(mirror?.metadata.labels?.['mirror.strait.io/headless-mirror-svc-name'], 'web-east');
    }
  });

  for (const pod of PODS) {
    it(`a west workload calling ${pod}.web-east gets the answer of east’s ${pod}`, async () => {
      const stdout = await callFromWest(`caller-${pod}`, `http://${pod}.web-east.shop.svc.cluster.local:80/`);
      assert.equal(stdout, `200 hello from ${pod}\n`);
    });
  }

  it('a west workload calling the headless mirror web-east gets one of east’s pods', async () => {
    const stdout = await callFromWest('caller-any', 'http://web-east.shop.svc.cluster.local:80/');
    assert.match(stdout, /^200 hello from web-[01]\n$/);
  });

  it('west’s service mirror probes east’s gateway over mTLS as its own identity', async () => {
    const metrics = await (await fetch(`http://${eastGateway()}:4191/metrics`)).text();
    assert.match(
      metrics,
      /gateway_probes_total\{client_id="strait-service-mirror\.strait-multicluster\.serviceaccount\.identity\.strait\.cluster\.local"\} [1-9]/,
    );
  });

  it('a pod that leaves east loses its endpoint mirror; the other pod still answers', async () => {
    await stopProcess(pods[1]);
    await eventually(
      'web-1-east gone from west',
      async () => ((await read<Service>(Kinds.Service, 'web-1-east')) ? undefined : true),
      120_000,
    );
    const eps = await read<Endpoints>(Kinds.Endpoints, 'web-east');
    assert.deepEqual(
      eps?.subsets?.[0]?.addresses?.map((a) => a.hostname),
      ['web-0'],
    );
    const stdout = await callFromWest('caller-after', 'http://web-0.web-east.shop.svc.cluster.local:80/');
    assert.equal(stdout, '200 hello from web-0\n');
  });
});

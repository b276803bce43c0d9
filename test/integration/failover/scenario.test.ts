// The failover scenario across two linked local clusters, every part a real process: west and
// east control planes sharing a trust anchor (east's runs the gateway, west's the service mirror
// and the failover operator), the link, `web` running in both clusters (east's exported and
// mirrored into west as `web-east`), a TrafficSplit of `web` and `web-east`, and two steady
// clients in west.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Endpoints, Event } from '../../../src/core/api/core.ts';
import type { Workload } from '../../../src/core/api/local.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import type { ResourceStore } from '../../../src/core/store.ts';
import { clusterFiles } from '../../../src/platform/local/cluster-config.ts';
import { openClusterStore } from '../../../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { LocalClusters, localRunArgs } from '../../fixtures/local-clusters.ts';
import {
  failoverSplitManifest,
  joinManifests,
  namespaceManifest,
  serviceManifest,
} from '../../fixtures/manifests.ts';
import { setGatewayReplicas } from '../multicluster/gateway-control.ts';
import { APP, CLIENT, lastFailback, recordWeights, type StatusEntry } from './harness.ts';

/** Requests each steady client keeps open at most: the bound on what a killed backend can take down. */
const CLIENT_CONCURRENCY = 4;

/** What a steady client saw: [start time ms, answer or `error:<why>`]. */
type Answers = [number, string][];
const answersOf = async (stats: string): Promise<Answers> => (await (await fetch(stats)).json()) as Answers;
const failures = (answers: Answers) => answers.filter(([, answer]) => answer.startsWith('error:'));

const WEB = joinManifests(
  namespaceManifest('shop'),
  serviceManifest({
    name: 'web',
    namespace: 'shop',
    labels: { 'mirror.strait.io/exported': 'true' },
    ports: [{ name: 'http', port: 8080, targetPort: 'http' }],
  }),
);

const SPLIT = failoverSplitManifest({
  namespace: 'shop',
  primary: 'web',
  secondary: 'web-east',
  controlledBy: 'strait-failover',
  settings: {
    'primary-service': 'web',
    'hold-down': '2s',
    'ramp-steps': '25,50,100',
    'ramp-step-interval': '1s',
  },
});

describe('failover between two linked clusters (real processes)', { timeout: 600_000 }, () => {
  const clusters = new LocalClusters('strait-failover-mc-');
  const home = clusters.home;
  let westWeb: ChildProcess | undefined;
  let getStats = '';
  let postStats = '';

  const run = async (args: string[], input?: string) => {
    const result = await clusters.strait(args, input);
    assert.equal(result.code, 0, `strait ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  const withWest = <T>(use: (store: ResourceStore) => Promise<T>): Promise<T> =>
    clusters.withStore('west', use);
  const runWeb = (cluster: string) =>
    clusters.start(
      localRunArgs(
        {
          cluster,
          namespace: 'shop',
          serviceAccount: 'web',
          name: 'web',
          port: 'http=8080',
          readyPath: '/ready',
        },
        ['env', `ANSWER=${cluster}`, process.execPath, APP],
      ),
    );
  /** A steady client in west calling `web` with `method`; resolves to where its /stats answer. */
  const runClient = async (name: string, method: string): Promise<string> => {
    clusters.start(
      localRunArgs({ cluster: 'west', namespace: 'shop', name, port: 9000 }, [
        'env',
        `METHOD=${method}`,
        `CONCURRENCY=${CLIENT_CONCURRENCY}`,
        process.execPath,
        CLIENT,
      ]),
    );
    const address = await eventually(
      `client ${name} ready`,
      () =>
        withWest(async (store) => {
          const workload = await store.get<Workload>({ ...Kinds.Workload, namespace: 'shop', name });
          return workload?.status?.ready ? workload.status.address : undefined;
        }),
      180_000,
    );
    return `http://${address}:9000/stats`;
  };
  /** What west's control plane said as the failover operator. */
  const operatorLog = () =>
    readFileSync(clusterFiles(clusterDirectory(home, 'west')).log, 'utf8')
      .split('\n')
      .filter((line) => line.includes('failover: '))
      .join('\n');
  const status = async (): Promise<StatusEntry> =>
    (
      JSON.parse(await run(['failover', 'status', '--context', 'west', '-o', 'json'])) as StatusEntry[]
    )[0] as StatusEntry;
  const statusWhere = (what: string, check: (entry: StatusEntry) => boolean) =>
    eventually(
      what,
      async () => {
        const entry = await status();
        return check(entry) ? entry : undefined;
      },
      180_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\noperator log:\n${operatorLog()}`);
    });
  const mirrorReady = (ready: boolean) =>
    eventually(
      `web-east ${ready ? 'ready' : 'not ready'} in west`,
      () =>
        withWest(async (store) => {
          const eps = await store.get<Endpoints>({ ...Kinds.Endpoints, namespace: 'shop', name: 'web-east' });
          const hasReady = (eps?.subsets ?? []).some((s) => (s.addresses?.length ?? 0) > 0);
          return eps && hasReady === ready ? true : undefined;
        }),
      180_000,
    );

  before(async () => {
    await clusters.up(['west', 'east']);
    // East's control plane runs the gateway once installed; west's follows the link with its mirror.
    await run(['mc', 'install', '--context', 'east']);
    await run(['mc', 'link', '--context', 'west', '--target-context', 'east', '--cluster-name', 'east']);
    await run(['local', 'apply', '--context', 'east', '-f', '-'], WEB);
    await run(['local', 'apply', '--context', 'west', '-f', '-'], joinManifests(WEB, SPLIT));
    runWeb('east');
    westWeb = runWeb('west');
    await mirrorReady(true);
    [getStats, postStats] = await Promise.all([
      runClient('get-client', 'GET'),
      runClient('post-client', 'POST'),
    ]);
  });

  after(() => clusters.down());

  it('fails over to east when west’s backend stops, shows east’s gateway dying, and ramps back', async () => {
    const primary = await statusWhere(
      'Primary while west’s web runs',
      (s) => s.state === 'Primary' && (s.weights.web ?? 0) > 0,
    );
    assert.deepEqual(primary.activeBackends, ['web']);

    for (const stats of [getStats, postStats]) {
      await eventually('the steady clients answered by west', async () =>
        (await answersOf(stats)).some(([, answer]) => answer === 'west') ? true : undefined,
      );
    }

    const stoppedAt = Date.now();
    westWeb?.kill('SIGTERM');
    await once(westWeb as ChildProcess, 'exit');
    const failover = await statusWhere('failover to east', (s) => s.state === 'Failover');
    assert.equal(failover.reason, 'PrimaryNotReady');
    assert.deepEqual(failover.weights, { web: 0, 'web-east': 100 });
    assert.deepEqual(failover.activeBackends, ['web-east']);

    // Every request started before `switched` has its answer once the clients' 5 s timeout has
    // passed after it; by then both clients are answered by east.
    const switched = Date.now();
    for (const stats of [getStats, postStats]) {
      await eventually(
        'the steady clients answered by east after the switch',
        async () =>
          (await answersOf(stats)).some(([at, answer]) => at > switched + 5000 && answer === 'east')
            ? true
            : undefined,
        60_000,
      );
    }
    const [get, post] = (await Promise.all([answersOf(getStats), answersOf(postStats)])).map((answers) =>
      answers.filter(([at]) => at < switched),
    ) as [Answers, Answers];
    for (const answers of [get, post]) {
      assert.ok(answers.some(([at, answer]) => at < stoppedAt && answer === 'west'));
      assert.ok(answers.some(([, answer]) => answer === 'east'));
    }
    // Stopping a workload drains it: it leaves west's Endpoints (and the operator moves the
    // weights) before its application stops. A GET is retried by the client's proxy on another
    // endpoint, east's through the mirror among them, when it meets the stopping side: nothing
    // fails. A POST is not retried once it may have reached west's web, so requests open at the
    // moment the application stops may fail, and the client never has more than
    // CLIENT_CONCURRENCY open.
    assert.deepEqual(failures(get), [], `GET failures: ${JSON.stringify(failures(get))}`);
    assert.ok(
      failures(post).length <= CLIENT_CONCURRENCY,
      `POST failures: ${JSON.stringify(failures(post))} (at most ${CLIENT_CONCURRENCY})`,
    );

    await setGatewayReplicas(home, 'east', 0);
    await mirrorReady(false);
    await statusWhere('east’s dead gateway in failover status', (s) => s.reason === 'NoReadyBackend');
    assert.match(
      await run(['failover', 'status', '--context', 'west']),
      /^shop\s+web\s+Failover\s+.*NoReadyBackend$/m,
    );
    const gateways = await run(['mc', 'gateways', '--context', 'west']);
    assert.match(gateways, /^east\s+false\s/m);

    await setGatewayReplicas(home, 'east', 1);
    await mirrorReady(true);
    const again = await statusWhere('east serving again', (s) => s.reason === 'PrimaryNotReady');
    assert.deepEqual(again.weights, { web: 0, 'web-east': 100 });

    const store = openClusterStore(clusterDirectory(home, 'west'));
    const weights = recordWeights(store);
    westWeb = runWeb('west');
    const back = await statusWhere('back on west', (s) => s.state === 'Primary');
    weights.stop();
    store.close();
    assert.equal(back.reason, 'RampCompleted');
    assert.deepEqual(lastFailback(weights.history, 'web-east'), [
      { web: 0, 'web-east': 100 },
      { web: 25, 'web-east': 75 },
      { web: 50, 'web-east': 50 },
      { web: 100, 'web-east': 0 },
    ]);

    const reasons = await withWest(async (store) =>
      (await store.list<Event>(Kinds.Event, { namespace: 'shop' })).items
        .filter((e) => e.source?.component === 'strait-failover')
        .map((e) => e.reason),
    );
    for (const reason of ['FailedOver', 'NoReadyBackend', 'FailbackStarted', 'FailbackStep', 'FailedBack']) {
      assert.ok(reasons.includes(reason), `event ${reason} in ${reasons.join(', ')}`);
    }
  });

  it('loses no GET when west’s application is killed instead of stopped', async () => {
    await statusWhere('Primary on west', (s) => s.state === 'Primary');
    const backOnWest = Date.now();
    await eventually('the GET client answered by west', async () =>
      (await answersOf(getStats)).some(([at, answer]) => at > backOnWest && answer === 'west')
        ? true
        : undefined,
    );
    const pid = await withWest(
      async (store) =>
        (await store.get<Workload>({ ...Kinds.Workload, namespace: 'shop', name: 'web' }))?.status?.pid,
    );
    const killedAt = Date.now();
    process.kill(pid as number, 'SIGKILL');
    await statusWhere('failover after the kill', (s) => s.state === 'Failover');
    const switched = Date.now();
    await eventually(
      'the GET client answered by east after the kill',
      async () =>
        (await answersOf(getStats)).some(([at, answer]) => at > switched + 5000 && answer === 'east')
          ? true
          : undefined,
      60_000,
    );
    // Requests meet the dead application until its workload is unregistered; the caller's proxy
    // retries each GET that fails there on another endpoint (east's, through the mirror).
    const around = (await answersOf(getStats)).filter(([at]) => at > backOnWest && at < switched);
    assert.ok(around.some(([at, answer]) => at < killedAt && answer === 'west'));
    assert.ok(around.some(([, answer]) => answer === 'east'));
    assert.deepEqual(failures(around), [], `GET failures: ${JSON.stringify(failures(around))}`);
  });
});

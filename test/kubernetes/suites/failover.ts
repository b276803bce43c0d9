import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import type { Link } from '../../../src/core/api/multicluster.ts';
import { Annotations, Labels } from '../../../src/core/api/names.ts';
import type { TrafficSplit } from '../../../src/core/api/traffic.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import type { Resource } from '../../../src/core/resource.ts';
import { FailoverAnnotations } from '../../../src/multicluster/failover/index.ts';
import { KubernetesKinds } from '../../../src/platform/kubernetes/kinds.ts';
import { type CliResult, strait } from '../../integration/local/cli.ts';
import type { TestClusters } from '../harness/clusters.ts';
import { startGroupProcess } from '../harness/processes.ts';
import { eventually, freshNamespace, storeOn, uncommonPort } from './fixtures.ts';

const OPERATOR = fileURLToPath(new URL('../../../src/cmd/failover.ts', import.meta.url));
const PORT = uncommonPort();
const SERVE =
  "require('node:net').createServer((s) => s.end('web')).listen(Number(process.env.PORT), process.env.POD_IP)";

interface EndpointSlice extends Resource {
  endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name: string } }[];
}

interface SplitState {
  state: string;
  reason: string;
  weights: Record<string, number>;
}

/**
 * The failover operator process on west: a TrafficSplit between a Service
 * whose pod the harness node runs and its `-east` mirror. The pod turning not
 * ready (KCM takes its address out of the ready endpoints) moves the weights
 * to the mirror; ready again, they ramp back after the hold-down.
 */
export async function failoverTests(t: TestContext, clusters: TestClusters): Promise<void> {
  const west = storeOn(clusters, 'west');
  const node = await clusters.node('west');
  const home = await mkdtemp(join(tmpdir(), 'strait-failover-kube-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  let namespace = '';
  const states: SplitState[] = [];
  const abort = new AbortController();
  t.after(() => abort.abort());

  /** Every distinct state and weight vector the split takes, from a watch: ramp steps can pass quickly. */
  const record = () => {
    void (async () => {
      for await (const event of west.watch<TrafficSplit>(Kinds.TrafficSplit, {
        namespace,
        signal: abort.signal,
      })) {
        if (event.type === 'BOOKMARK' || event.type === 'DELETED') continue;
        const failover = event.object.status?.failover;
        if (!failover) continue;
        const weights = Object.fromEntries(
          (event.object.spec?.backends ?? []).map((b) => [b.service, b.weight]),
        );
        const next = { state: failover.state, reason: failover.reason, weights };
        if (JSON.stringify(states.at(-1)) !== JSON.stringify(next)) states.push(next);
      }
    })().catch(() => {});
  };
  const stateWhere = (what: string, check: (state: SplitState) => boolean) =>
    eventually(what, async () => states.find(check), 120_000).catch((error: Error) => {
      throw new Error(
        `${error.message}\nstates: ${JSON.stringify(states)}\noperator log:\n${operator?.tail(40)}`,
      );
    });
  let operator: ReturnType<typeof startGroupProcess> | undefined;
  t.after(() => operator?.stop(5_000));

  await t.test('failover: a TrafficSplit between a running pod’s Service and its -east mirror', async () => {
    namespace = await freshNamespace(west, 'failover');
    await eventually('the default ServiceAccount', () =>
      west.get({ ...Kinds.ServiceAccount, namespace, name: 'default' }),
    );
    await west.create<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, targetPort: PORT }] },
    });
    await west.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace, labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'strait/test-app',
            command: ['node', '-e', SERVE],
            env: [{ name: 'PORT', value: String(PORT) }],
            readinessProbe: { tcpSocket: { port: PORT } },
          },
        ],
      },
    });
    // The mirror and its Link as the service mirror writes them, with the gateway alive.
    const mirrorLabels = { [Labels.mirroredService]: 'true', [Labels.mirrorClusterName]: 'east' };
    await west.create<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web-east',
        namespace,
        labels: mirrorLabels,
        annotations: { [Annotations.remoteServiceFqName]: `web.${namespace}.svc.cluster.local` },
      },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    });
    await west.create<Endpoints>({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web-east', namespace, labels: mirrorLabels },
      subsets: [
        {
          addresses: [{ ip: `${clusters.podNetworks.east}.250` }],
          ports: [{ name: 'http', port: 4143, protocol: 'TCP' }],
        },
      ],
    });
    const link = await west.create<Link>({
      apiVersion: Kinds.Link.apiVersion,
      kind: Kinds.Link.kind,
      metadata: { name: 'east', namespace },
      spec: {
        targetClusterName: 'east',
        targetClusterDomain: 'cluster.local',
        clusterCredentialsSecret: 'cluster-credentials-east',
        gatewayAddress: `${clusters.podNetworks.east}.250`,
        gatewayPort: 4143,
        gatewayIdentity: 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local',
        probeSpec: { path: '/ready', port: 4191, period: '3s', failureThreshold: 3, timeout: '2s' },
      },
    });
    await west.updateStatus<Link>({ ...link, status: { gatewayAlive: true } });
    await west.create<TrafficSplit>({
      apiVersion: Kinds.TrafficSplit.apiVersion,
      kind: Kinds.TrafficSplit.kind,
      metadata: {
        name: 'web',
        namespace,
        labels: { [Labels.failoverControlledBy]: 'strait-failover' },
        annotations: {
          [Annotations.failoverPrimaryService]: 'web',
          [FailoverAnnotations.holdDown]: '1s',
          [FailoverAnnotations.rampSteps]: '50,100',
          [FailoverAnnotations.rampStepInterval]: '1s',
        },
      },
      spec: {
        service: 'web',
        backends: [
          { service: 'web', weight: 100 },
          { service: 'web-east', weight: 0 },
        ],
      },
    });
    await eventually('a ready address for web-0', async () => {
      const endpoints = await west.get<Endpoints>({ ...Kinds.Endpoints, namespace, name: 'web' });
      return endpoints?.subsets?.some((s) => (s.addresses?.length ?? 0) > 0);
    });
    assert.ok(node.podIp(namespace, 'web-0')?.startsWith(`${clusters.podNetworks.west}.`));
  });

  await t.test('failover operator: runs against the west context and keeps the primary', async () => {
    record();
    operator = startGroupProcess(
      'failover operator',
      process.execPath,
      [OPERATOR, '--kubeconfig', clusters.kubeconfig, '--context', 'west'],
      {
        logFile: join(clusters.west.dir, 'failover-operator.log'),
        env: { PATH: process.env.PATH, STRAIT_HOME: home },
      },
    );
    await eventually(
      'the operator to be ready',
      async () => {
        assert.ok(!operator?.done, `the operator exited:\n${operator?.tail()}`);
        const log = await readFile(operator?.logFile as string, 'utf8');
        // The operator prints `ready` once its informers have listed.
        return /^ready$/m.test(log);
      },
      120_000,
    );
    const primary = await stateWhere('Primary with web-0 ready', (s) => s.reason === 'PrimaryReady');
    assert.equal(primary.state, 'Primary');
    assert.deepEqual(primary.weights, { web: 100, 'web-east': 0 });
  });

  await t.test('failover: web-0 turning not ready moves every weight to web-east', async () => {
    await node.setReady(namespace, 'web-0', false);
    // KCM, not the test, takes the address out of the ready endpoints.
    await eventually('web-0 not ready in the EndpointSlice', async () => {
      const slices = await west.list<EndpointSlice>(KubernetesKinds.EndpointSlice, {
        namespace,
        labelSelector: { matchLabels: { 'kubernetes.io/service-name': 'web' } },
      });
      const endpoint = slices.items
        .flatMap((s) => s.endpoints ?? [])
        .find((e) => e.targetRef?.name === 'web-0');
      return endpoint?.conditions?.ready === false;
    });
    const failover = await stateWhere('Failover', (s) => s.state === 'Failover');
    assert.equal(failover.reason, 'PrimaryNotReady');
    assert.deepEqual(failover.weights, { web: 0, 'web-east': 100 });
    const status = await failoverStatus(home, clusters.kubeconfig);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stdout,
      new RegExp(`^${namespace}\\s+web\\s+Failover\\s+web-east\\s+web=0,web-east=100`, 'm'),
    );
  });

  await t.test('failover: ready again, the weights ramp back to web after the hold-down', async () => {
    const from = states.length;
    await node.setReady(namespace, 'web-0', true);
    const back = await stateWhere(
      'failback complete',
      (s) => states.indexOf(s) >= from && s.state === 'Primary',
    );
    assert.equal(back.reason, 'RampCompleted');
    assert.deepEqual(back.weights, { web: 100, 'web-east': 0 });
    // Held down at 0 first (reason HoldingDown), then each ramp step once.
    const steps = states
      .slice(from)
      .map((s) => s.weights.web)
      .filter((weight, i, all) => weight !== 0 && weight !== all[i - 1]);
    assert.deepEqual(steps, [50, 100], `failback: ${JSON.stringify(states.slice(from))}`);
  });

  await t.test('failover operator: stops on SIGTERM', async () => {
    assert.ok(operator && !operator.done, 'the operator still runs');
    abort.abort();
    await operator.stop(20_000);
    assert.equal(await operator.exited, 0, operator.tail());
  });
}

function failoverStatus(home: string, kubeconfig: string): Promise<CliResult> {
  return strait(home, ['failover', 'status', '--kubeconfig', kubeconfig, '--context', 'west']);
}

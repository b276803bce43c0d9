// The failover operator as its own process against a local cluster: a real control plane, a real
// workload whose Endpoints come from the platform, the operator process, and the CLI.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Endpoints, Event } from '../../../src/core/api/core.ts';
import type { Link } from '../../../src/core/api/multicluster.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { openClusterStore } from '../../../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { eventually, strait, straitInBackground } from '../local/cli.ts';

const OPERATOR = fileURLToPath(new URL('../../../src/cmd/failover.ts', import.meta.url));
const APP = fileURLToPath(new URL('./app.mjs', import.meta.url));

const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: strait-multicluster}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: web-east
  namespace: shop
  labels: {mirror.strait.io/mirrored-service: "true", mirror.strait.io/cluster-name: east}
spec:
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web-east
  namespace: shop
  labels: {mirror.strait.io/mirrored-service: "true", mirror.strait.io/cluster-name: east}
subsets:
- addresses: [{ip: 127.0.0.50}]
  ports: [{port: 4143}]
---
apiVersion: multicluster.strait.io/v1alpha1
kind: Link
metadata: {name: east, namespace: strait-multicluster}
spec:
  targetClusterName: east
  targetClusterDomain: cluster.local
  clusterCredentialsSecret: cluster-credentials-east
  gatewayAddress: 127.0.0.50
  gatewayPort: 4143
  gatewayIdentity: strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local
  probeSpec: {path: /ready, port: 4191, period: 3s, failureThreshold: 3, timeout: 2s}
---
apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: web
  namespace: shop
  labels: {failover.strait.io/controlled-by: strait-failover}
  annotations:
    failover.strait.io/primary-service: web
    failover.strait.io/hold-down: 1s
    failover.strait.io/ramp-steps: "50,100"
    failover.strait.io/ramp-step-interval: 1s
spec:
  service: web
  backends:
  - {service: web, weight: 1}
  - {service: web-east, weight: 0}
`;

interface StatusEntry {
  state: string;
  reason: string;
  weights: Record<string, number>;
  activeBackends: string[];
}

describe('failover operator process on a local cluster', { timeout: 240_000 }, () => {
  const home = mkdtempSync(join(tmpdir(), 'strait-failover-'));
  let operator: ChildProcess | undefined;
  let backend: ChildProcess | undefined;
  let operatorLog = '';

  const status = async (): Promise<StatusEntry> => {
    const result = await strait(home, ['failover', 'status', '--context', 'west', '-o', 'json']);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as StatusEntry[])[0] as StatusEntry;
  };
  const statusWhere = (what: string, check: (entry: StatusEntry) => boolean) =>
    eventually(
      what,
      async () => {
        const entry = await status();
        return check(entry) ? entry : undefined;
      },
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\noperator log:\n${operatorLog}`);
    });
  const startBackend = () => {
    backend = straitInBackground(home, [
      ...['local', 'run', '--cluster', 'west', '-n', 'shop', '--name', 'web', '--port', '8080'],
      ...['--ready-path', '/', '--no-proxy', '--', process.execPath, APP],
    ]);
  };
  const setGateway = async (alive: boolean) => {
    const store = openClusterStore(clusterDirectory(home, 'west'));
    try {
      const link = (await store.get<Link>({
        ...Kinds.Link,
        namespace: 'strait-multicluster',
        name: 'east',
      })) as Link;
      await store.updateStatus({ ...link, status: { ...link.status, gatewayAlive: alive } });
    } finally {
      store.close();
    }
  };

  before(async () => {
    const up = await strait(home, ['local', 'up', '--cluster', 'west']);
    assert.equal(up.code, 0, up.stderr);
    const applied = await strait(home, ['local', 'apply', '--context', 'west', '-f', '-'], manifests);
    assert.equal(applied.code, 0, applied.stderr);
    await setGateway(true);
    startBackend();
    await eventually(
      'the backend workload ready',
      async () => {
        const store = openClusterStore(clusterDirectory(home, 'west'));
        try {
          const endpoints = await store.get<Endpoints>({
            ...Kinds.Endpoints,
            namespace: 'shop',
            name: 'web',
          });
          return endpoints?.subsets?.some((s) => (s.addresses?.length ?? 0) > 0) ? true : undefined;
        } finally {
          store.close();
        }
      },
      60_000,
    );
    operator = spawn(process.execPath, [OPERATOR, '--context', 'west'], {
      env: { ...process.env, STRAIT_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operator.stderr?.on('data', (chunk) => {
      operatorLog += chunk;
    });
    await once(operator.stdout as NodeJS.ReadableStream, 'data');
  });

  after(async () => {
    backend?.kill('SIGTERM');
    if (operator && operator.exitCode === null) {
      operator.kill('SIGTERM');
      await once(operator, 'exit');
    }
    await strait(home, ['local', 'down', '--cluster', 'west']);
    rmSync(home, { recursive: true, force: true });
  });

  it('follows the backend workload out and back, and shows a dead gateway', async () => {
    const primary = await statusWhere('Primary with the backend running', (s) => s.reason === 'PrimaryReady');
    assert.equal(primary.state, 'Primary');
    assert.deepEqual(primary.activeBackends, ['web']);

    backend?.kill('SIGTERM');
    await once(backend as ChildProcess, 'exit');
    const failover = await statusWhere('failover when the backend stops', (s) => s.state === 'Failover');
    assert.equal(failover.reason, 'PrimaryNotReady');
    assert.deepEqual(failover.weights, { web: 0, 'web-east': 100 });

    await setGateway(false);
    const dead = await statusWhere('the dead gateway in the status', (s) => s.reason === 'NoReadyBackend');
    assert.equal(dead.state, 'Failover');
    const table = await strait(home, ['failover', 'status', '--context', 'west']);
    assert.match(
      table.stdout,
      /^shop\s+web\s+Failover\s+web-east\s+web=0,web-east=100\s+\S+\s+NoReadyBackend$/m,
    );
    await setGateway(true);

    startBackend();
    const ramp = await statusWhere('failback ramp', (s) => s.state === 'FailingBack');
    assert.deepEqual(ramp.weights, { web: 50, 'web-east': 50 });
    const back = await statusWhere('failback complete', (s) => s.state === 'Primary');
    assert.equal(back.reason, 'RampCompleted');
    assert.deepEqual(back.weights, { web: 100, 'web-east': 0 });

    const store = openClusterStore(clusterDirectory(home, 'west'));
    try {
      const events = (await store.list<Event>(Kinds.Event, { namespace: 'shop' })).items
        .filter((e) => e.source?.component === 'strait-failover')
        .map((e) => e.reason);
      for (const reason of ['FailedOver', 'NoReadyBackend', 'FailbackStarted', 'FailedBack']) {
        assert.ok(events.includes(reason), `event ${reason} in ${events.join(', ')}`);
      }
    } finally {
      store.close();
    }

    operator?.kill('SIGTERM');
    const [code] = await once(operator as ChildProcess, 'exit');
    assert.equal(code, 0, 'the operator stops cleanly on SIGTERM');
  });
});

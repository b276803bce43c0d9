// A local cluster's control plane runs its gateway: started by `mc install`,
// restarted after a crash, stopped by replicas "0", by `mc uninstall` and by
// `local down`, and never left behind when the control plane is SIGKILLed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Event } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { clusterFiles, readClusterConfig } from '../../../src/platform/local/cluster-config.ts';
import { processAlive } from '../../../src/platform/local/controllers/workload-reaper.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { eventually } from '../../fixtures/eventually.ts';
import { LocalClusters } from '../../fixtures/local-clusters.ts';
import { gatewayReady, gatewayWorkload, setGatewayReplicas } from './gateway-control.ts';

const gone = (pid: number) =>
  eventually(`process ${pid} to exit`, async () => (processAlive(pid) ? undefined : true), 30_000);

describe('the gateway supervised by a local control plane', { timeout: 600_000 }, () => {
  const clusters = new LocalClusters('strait-gw-sup-');
  const home = clusters.home;
  const dir = clusterDirectory(home, 'east');
  const probe = async () => {
    const { controlPlaneAddress } = readClusterConfig(dir);
    const response = await fetch(`http://${controlPlaneAddress}:4191/ready`, {
      signal: AbortSignal.timeout(5000),
    });
    return response.status;
  };

  before(() => clusters.up(['east']));

  after(() => clusters.down());

  it('mc install starts the gateway and says so; mc check shows it', async () => {
    const out = await clusters.run(['mc', 'install', '--context', 'east']);
    assert.match(out, /configmap\/strait-gateway created/);
    assert.match(out, /gateway running in the control plane \(ready, pid \d+\)/);
    assert.doesNotMatch(out, /start the gateway with/);
    assert.equal(await probe(), 200);
    const check = await clusters.strait(['mc', 'check', '--context', 'east']);
    assert.match(check.stdout, /✓ this cluster’s gateway runs as configured \(ready, pid \d+\)/);
    const endpoints = await clusters.run([
      'local',
      'get',
      'endpoints',
      'strait-gateway',
      '-n',
      'strait-multicluster',
    ]);
    assert.match(endpoints, /:4143/);
  });

  it('restarts a gateway that crashed and records the restart', async () => {
    const pid = (await gatewayWorkload(home, 'east'))?.status?.proxyPid as number;
    assert.ok(pid && processAlive(pid));
    process.kill(pid, 'SIGKILL');
    const restarted = await gatewayReady(home, 'east', pid);
    const workload = await gatewayWorkload(home, 'east');
    assert.equal(workload?.metadata.annotations?.['local.strait.io/restarts'], '1');
    assert.match(workload?.metadata.annotations?.['local.strait.io/last-exit'] ?? '', /^signal SIGKILL at /);
    assert.ok(processAlive(restarted));
    assert.equal(await probe(), 200);
    const status = await clusters.run(['local', 'status']);
    assert.match(status, /GATEWAY/);
    assert.match(status, /east\s+Running\s.*\sReady \(1 restart\)/);
  });

  it('replicas "0" stops it, "1" starts it again; an invalid value is refused with an Event', async () => {
    const pid = (await gatewayWorkload(home, 'east'))?.status?.proxyPid as number;
    await setGatewayReplicas(home, 'east', 0);
    await gone(pid);
    await assert.rejects(probe());
    assert.match(await clusters.run(['local', 'status']), /east\s+Running\s.*\s-\s/);
    const check = await clusters.strait(['mc', 'check', '--context', 'east']);
    assert.match(check.stdout, /✓ this cluster’s gateway runs as configured \(stopped: replicas 0\)/);

    const running = (await setGatewayReplicas(home, 'east', 1)) as number;
    await clusters.apply(
      'east',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strait-gateway\n  namespace: strait-multicluster\ndata:\n  replicas: "3"\n',
    );
    const event = await eventually('an InvalidGatewaySpec Event', () =>
      clusters.withStore('east', async (store) => {
        const { items } = await store.list<Event>(Kinds.Event, { namespace: 'strait-multicluster' });
        return items.find((e) => e.reason === 'InvalidGatewaySpec');
      }),
    );
    assert.match(event.message, /replicas "3" must be 0 or 1/);
    // The gateway runs on as it was.
    assert.equal((await gatewayWorkload(home, 'east'))?.status?.proxyPid, running);
    assert.ok(processAlive(running));
    await setGatewayReplicas(home, 'east', 1);
  });

  it('a gateway that cannot start is retried with backoff, and mc check says why', async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this host: every start fails to bind.
    await clusters.run(
      ['local', 'apply', '--context', 'east', '--force', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strait-gateway\n  namespace: strait-multicluster\ndata:\n  address: 192.0.2.1\n',
    );
    try {
      // The restart count (an annotation) and the message (status) are two writes: wait for both.
      const failing = await eventually(
        'two failed starts',
        async () => {
          const workload = await gatewayWorkload(home, 'east');
          const restarts = Number(workload?.metadata.annotations?.['local.strait.io/restarts']);
          return restarts >= 2 && workload?.status?.message?.startsWith('exited') ? workload : undefined;
        },
        90_000,
      );
      assert.equal(failing.status?.ready, false);
      assert.match(failing.status?.message ?? '', /^exited \(code 1\); starting again in \d+s$/);
      assert.match(readFileSync(join(dir, 'multicluster', 'gateway.log'), 'utf8'), /192\.0\.2\.1/);
      const check = await clusters.strait(['mc', 'check', '--context', 'east']);
      assert.equal(check.code, 1, check.stdout);
      assert.match(check.stdout, /× this cluster’s gateway runs as configured/);
      assert.match(check.stdout, /restarts \(last exit: code 1 at /);
    } finally {
      // Installing again puts the cluster's address back, for the tests that follow too.
      await clusters.run(['mc', 'install', '--context', 'east']);
    }
    assert.equal(await probe(), 200);
  });

  it('a SIGKILLed control plane leaves no gateway; the next start runs a new one', async () => {
    const pid = (await gatewayWorkload(home, 'east'))?.status?.proxyPid as number;
    const controlPlane = Number(readFileSync(clusterFiles(dir).pid, 'utf8'));
    process.kill(controlPlane, 'SIGKILL');
    await gone(controlPlane);
    await gone(pid);
    await clusters.run(['local', 'up', '--cluster', 'east']);
    const next = await gatewayReady(home, 'east', pid);
    assert.equal(await probe(), 200);

    await clusters.run(['local', 'down', '--cluster', 'east']);
    await gone(next);
    await clusters.run(['local', 'up', '--cluster', 'east']);
    await gatewayReady(home, 'east', next);
  });

  it('mc uninstall stops it', async () => {
    const pid = (await gatewayWorkload(home, 'east'))?.status?.proxyPid as number;
    const out = await clusters.run(['mc', 'uninstall', '--context', 'east']);
    assert.match(out, /configmap\/strait-gateway deleted/);
    assert.match(out, /gateway stopped/);
    await gone(pid);
  });
});

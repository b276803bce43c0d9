// The Kubernetes suite: two real clusters (etcd, kube-apiserver and
// kube-controller-manager built from the Go module proxy), started once for
// every test below. Without Go this file skips, except in CI where it must run.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { goInstalled, kubeBinaries } from './harness/binaries.ts';
import { startTestClusters, type TestClusters } from './harness/clusters.ts';
import { controlPlaneShutdownTests, controlPlaneTests } from './suites/control-plane.ts';
import { controllerTests } from './suites/controller.ts';
import { crdTests } from './suites/crds.ts';
import { crossClusterTests } from './suites/cross-cluster.ts';
import { failoverTests } from './suites/failover.ts';
import { harnessNodeTests } from './suites/harness-node.ts';
import { injectorTests } from './suites/injector.ts';
import { installTests } from './suites/install.ts';
import { multiclusterTests } from './suites/multicluster.ts';
import { reflectorTests } from './suites/reflector.ts';
import { storeTests } from './suites/store.ts';
import { tokenTests } from './suites/tokens.ts';
import { watchTests } from './suites/watch.ts';

const HOUR = 3_600_000;

test('Kubernetes: real west and east clusters', { timeout: 2 * HOUR }, async (t) => {
  if (!goInstalled() && process.env.CI !== 'true') {
    t.skip('Go is not installed: the Kubernetes suite needs it to build kube-apiserver');
    return;
  }
  // The first build takes a long time on a small machine; later runs find the cache.
  await t.test(
    'build or find etcd, kube-apiserver and kube-controller-manager',
    { timeout: 2 * HOUR },
    async () => {
      await kubeBinaries();
    },
  );
  let started: TestClusters | undefined;
  await t.test('start west and east: etcd, kube-apiserver, kube-controller-manager', async () => {
    started = await startTestClusters();
  });
  if (!started) return;
  const clusters = started;
  t.after(() => clusters.stop());
  await storeTests(t, clusters);
  await watchTests(t, clusters);
  await reflectorTests(t, clusters);
  await controllerTests(t, clusters);
  await harnessNodeTests(t, clusters);
  await tokenTests(t, clusters);
  await crdTests(t, clusters);
  await multiclusterTests(t, clusters);
  await failoverTests(t, clusters);
  // After the suites that need east's CRDs: the uninstall removes them.
  await installTests(t, clusters);
  const controlPlane = await controlPlaneTests(t, clusters);
  if (controlPlane) {
    await injectorTests(t, clusters, controlPlane);
    await crossClusterTests(t, clusters, controlPlane);
    await controlPlaneShutdownTests(t, controlPlane);
  }

  await t.test('harness: stopping the clusters leaves no process and no files behind', async () => {
    const processes = [...clusters.west.processes, ...clusters.east.processes];
    assert.equal(processes.length, 6);
    await clusters.stop();
    for (const child of processes) {
      assert.ok(child.done, `${child.name} still runs`);
      assert.throws(
        () => process.kill(-child.pid, 0),
        { code: 'ESRCH' },
        `${child.name}'s group still has members`,
      );
    }
    assert.equal(existsSync(clusters.west.dir), false);
  });
});

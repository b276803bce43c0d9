// Flap damping outlives the operator: a primary that flapped three times is held down four times
// longer, and still is after the operator process restarts in the middle of that hold-down (the
// score is kept in the TrafficSplit's status). A real control plane and the operator process; the
// backends' Endpoints are written here, as a platform's endpoints controller would.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoints } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { eventually } from '../../fixtures/eventually.ts';
import {
  failoverSplitManifest,
  joinManifests,
  namespaceManifest,
  serviceManifest,
} from '../../fixtures/manifests.ts';
import { FailoverHarness } from './harness.ts';

/** With three quick flaps the hold-down is 3 s × 2², far from the plain 3 s. */
const HOLD_DOWN_MS = 3000;
const DAMPED_HOLD_DOWN_MS = 4 * HOLD_DOWN_MS;

/** A Service without a selector, and its Endpoints as a platform's endpoints controller writes them. */
const backend = (name: string, ip: string) =>
  joinManifests(
    serviceManifest({ name, namespace: 'shop', selector: false, ports: [{ port: 8080 }] }),
    `apiVersion: v1
kind: Endpoints
metadata: {name: ${name}, namespace: shop}
subsets:
- addresses: [{ip: ${ip}}]
  ports: [{port: 8080}]`,
  );

const manifests = joinManifests(
  namespaceManifest('shop'),
  backend('web', '127.0.0.60'),
  backend('web-backup', '127.0.0.61'),
  failoverSplitManifest({
    namespace: 'shop',
    primary: 'web',
    secondary: 'web-backup',
    controlledBy: 'standalone',
    settings: { 'hold-down': `${HOLD_DOWN_MS}ms`, 'flap-half-life': '1h', 'ramp-steps': '100' },
  }),
);

describe('flap damping across an operator restart', { timeout: 600_000 }, () => {
  const cluster = new FailoverHarness('west');
  const setReady = (ready: boolean) =>
    cluster.withStore(async (store) => {
      const ref = { ...Kinds.Endpoints, namespace: 'shop', name: 'web' };
      const current = (await store.get<Endpoints>(ref)) as Endpoints;
      const addresses = [{ ip: '127.0.0.60' }];
      await store.update<Endpoints>({
        ...current,
        subsets: [{ ...(ready ? { addresses } : { notReadyAddresses: addresses }), ports: [{ port: 8080 }] }],
      });
    });
  const storedFlap = async () => (await cluster.split())?.status?.failover?.flap;

  before(async () => {
    await cluster.up(manifests);
    await cluster.startOperator();
  });
  after(() => cluster.down());

  it('holds a flapping primary out longer, and still does after a restart mid-hold-down', async () => {
    await cluster.statusWhere('Primary', (s) => s.state === 'Primary' && s.reason === 'PrimaryReady');
    // Each state lasts only as long as the hold-down: they are read from a watch, not polled.
    const recorded = cluster.recordWeights();
    const seen = (what: string, reason: string, count: number) =>
      eventually(
        what,
        async () => (recorded.states.filter((s) => s.reason === reason).length >= count ? true : undefined),
        120_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(recorded.states)}\n${cluster.operatorLog}`);
      });
    for (let flap = 1; flap <= 3; flap++) {
      await setReady(false);
      await seen(`flap ${flap}: failed over`, 'PrimaryNotReady', flap);
      await setReady(true);
      await seen(`flap ${flap}: holding down`, 'HoldingDown', flap);
    }
    recorded.stop();
    const before = await storedFlap();
    assert.equal(Math.round(Number(before?.score)), 3, JSON.stringify(before));

    assert.equal(await cluster.stopOperator(), 0);
    await cluster.startOperator();
    const restartedAt = Date.now();
    const failover = async () => (await cluster.split())?.status?.failover;
    const held = await failover();
    assert.equal(held?.state, 'Failover', `${JSON.stringify(held)}\n${cluster.operatorLog}`);
    assert.equal(Math.round(Number(held?.flap?.score)), 3, 'the score survives the restart');
    const back = await eventually(
      'failed back after the damped hold-down',
      async () => {
        const now = await failover();
        return now?.state === 'Primary' ? { ...now, afterMs: Date.now() - restartedAt } : undefined;
      },
      120_000,
    );
    assert.equal(back.reason, 'PrimaryRecovered');
    // The restarted operator starts the hold-down again when it first sees the good primary, a
    // moment before it says it is ready. Anything slow only makes this longer; without the stored
    // score it would be the plain hold-down.
    assert.ok(
      back.afterMs >= 2 * HOLD_DOWN_MS,
      `failed back ${back.afterMs} ms after the restart: the damped hold-down is ${DAMPED_HOLD_DOWN_MS} ms\n${cluster.operatorLog}`,
    );
  });
});

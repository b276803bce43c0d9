// Health-based failover with real proxies: a client workload calls `web` through its proxy; the
// operator scrapes that proxy's metrics. When web starts answering 500 (while staying ready), the
// client's proxy sees the failures and the operator fails over; when web heals it fails back
// through the ramp.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Event } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { eventually } from '../../fixtures/eventually.ts';
import {
  failoverSplitManifest,
  joinManifests,
  namespaceManifest,
  serviceManifest,
} from '../../fixtures/manifests.ts';
import { APP, CLIENT, FailoverHarness, lastFailback } from './harness.ts';

const manifests = joinManifests(
  namespaceManifest('shop'),
  serviceManifest({ name: 'web', namespace: 'shop', ports: [{ port: 8080 }] }),
  serviceManifest({ name: 'web-backup', namespace: 'shop', ports: [{ port: 8080 }] }),
  failoverSplitManifest({
    namespace: 'shop',
    primary: 'web',
    secondary: 'web-backup',
    controlledBy: 'standalone',
    settings: {
      'health-window': '3s',
      'min-requests': '10',
      'min-success-rate': '0.9',
      'hold-down': '5s',
      'ramp-steps': '50,100',
      'ramp-step-interval': '2s',
    },
  }),
);

describe('health-based failover from the proxies’ metrics', { timeout: 600_000 }, () => {
  const cluster = new FailoverHarness('west');
  let web = '';
  let client = '';

  before(async () => {
    await cluster.up(manifests);
    cluster.run('web', 8080, [process.execPath, APP], { readyPath: '/ready' });
    cluster.run('web-backup', 8080, [process.execPath, APP], { readyPath: '/ready' });
    cluster.run('client', 9000, [process.execPath, CLIENT]);
    [web, client] = await Promise.all([cluster.workloadAddress('web'), cluster.workloadAddress('client')]);
    await cluster.workloadAddress('web-backup');
    await eventually(
      'the client reaching web through its proxy',
      async () => {
        const answers = (await (await fetch(`http://${client}:9000/stats`)).json()) as [number, string][];
        return answers.some(([, backend]) => backend === 'web') ? true : undefined;
      },
      120_000,
    );
    await cluster.startOperator([
      '--discover-proxies',
      ...['--scrape-interval', '500ms', '--resync', '500ms'],
    ]);
  });
  after(() => cluster.down());

  it('fails over when callers see the primary fail, and back through the ramp when it heals', async () => {
    await cluster.statusWhere('Primary', (s) => s.state === 'Primary' && s.reason === 'PrimaryReady');

    const weights = cluster.recordWeights();
    await fetch(`http://${web}:8080/fail`, { method: 'POST' });
    // With no traffic left on web its health looks good again, so Failover may last only seconds:
    // it is read from the recorded states, not polled.
    const failover = await eventually(
      `state Failover${weights.failure() ? ` (${weights.failure()?.message})` : ''}`,
      async () => weights.states.find((s) => s.state === 'Failover'),
      120_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\noperator log:\n${cluster.operatorLog}`);
    });
    assert.ok(['PrimaryUnhealthy', 'HoldingDown'].includes(failover.reason), failover.reason);
    assert.deepEqual(failover.weights, { web: 0, 'web-backup': 100 });
    const message = await eventually('a FailedOver event', () =>
      cluster.withStore(async (api) => {
        const events = (await api.list<Event>(Kinds.Event, { namespace: 'shop' })).items;
        return events.find((e) => e.reason === 'FailedOver')?.message;
      }),
    );
    assert.match(message, /web: success rate \d\.\d+ < 0\.9 over 3s; traffic to web-backup/);

    await fetch(`http://${web}:8080/heal`, { method: 'POST' });
    const back = await cluster.statusWhere('failback complete', (s) => s.state === 'Primary');
    weights.stop();
    assert.equal(back.reason, 'RampCompleted');
    assert.deepEqual(lastFailback(weights.history, 'web-backup'), [
      { web: 0, 'web-backup': 100 },
      { web: 50, 'web-backup': 50 },
      { web: 100, 'web-backup': 0 },
    ]);
  });
});

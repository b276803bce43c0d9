import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { TrafficSplit } from '../../core/api/traffic.ts';
import { runCli } from '../main.ts';
import { failoverCommand, failoverStatusEntries, formatFailoverStatus } from './failover.ts';

const split = (
  name: string,
  namespace: string,
  labels: Record<string, string>,
  status?: TrafficSplit['status'],
): TrafficSplit => ({
  apiVersion: 'split.smi-spec.io/v1alpha2',
  kind: 'TrafficSplit',
  metadata: { name, namespace, labels, annotations: { 'failover.linkerd.io/primary-service': 'web' } },
  spec: {
    service: 'web',
    backends: [
      { service: 'web', weight: 0 },
      { service: 'web-east', weight: 100 },
    ],
  },
  ...(status ? { status } : {}),
});

describe('strait failover status', () => {
  const splits = [
    split(
      'web',
      'shop',
      { 'failover.strait.io/controlled-by': 'x' },
      {
        failover: {
          state: 'Failover',
          reason: 'PrimaryNotReady',
          since: '2026-01-01T00:00:00.000Z',
          activeBackends: ['web-east'],
        },
      },
    ),
    split('api', 'billing', { 'failover.linkerd.io/controlled-by': 'linkerd-failover' }),
    split('plain', 'shop', {}),
  ];

  it('lists managed splits, ours and Linkerd-labelled, sorted', () => {
    const entries = failoverStatusEntries(splits);
    assert.deepEqual(
      entries.map((e) => `${e.namespace}/${e.trafficSplit}:${e.state}`),
      ['billing/api:Unknown', 'shop/web:Failover'],
    );
    assert.deepEqual(entries[1], {
      namespace: 'shop',
      trafficSplit: 'web',
      primary: 'web',
      state: 'Failover',
      reason: 'PrimaryNotReady',
      activeBackends: ['web-east'],
      weights: { web: 0, 'web-east': 100 },
      since: '2026-01-01T00:00:00.000Z',
    });
  });

  it('prints the kubectl-style table', () => {
    const table = formatFailoverStatus(failoverStatusEntries(splits), Date.parse('2026-01-01T00:00:42.000Z'));
    const lines = table.trimEnd().split('\n');
    assert.match(
      lines[0] as string,
      /^NAMESPACE\s+TRAFFIC_SPLIT\s+STATE\s+ACTIVE_BACKENDS\s+WEIGHTS\s+SINCE\s+REASON$/,
    );
    assert.match(lines[1] as string, /^billing\s+api\s+Unknown\s+web-east\s+web=0,web-east=100\s+-\s+-$/);
    assert.match(
      lines[2] as string,
      /^shop\s+web\s+Failover\s+web-east\s+web=0,web-east=100\s+42s\s+PrimaryNotReady$/,
    );
  });

  it('refuses an unknown output format as bad usage', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const root = { name: 'strait', summary: '', subcommands: [failoverCommand] };
    const code = await runCli(
      ['failover', 'status', '-o', 'xml'],
      { stdout, stderr, stdin: new PassThrough(), env: {} },
      root,
    );
    assert.equal(code, 2);
    assert.match(String(stderr.read()), /-o "xml" is not supported/);
  });
});

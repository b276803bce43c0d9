import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HTTPRoute, TrafficSplit } from '../../core/api/traffic.ts';
import { SplitTracker } from './split-tracker.ts';

const services = new Set(['shop/web', 'shop/web-v1', 'shop/web-east']);
const exists = (namespace: string, name: string) => services.has(`${namespace}/${name}`);

function split(backends: { service: string; weight: number }[], name = 'web'): TrafficSplit {
  return {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { service: 'web', backends },
  };
}

test('a valid TrafficSplit is served and remembered; an invalid edit keeps the last good split', () => {
  const tracker = new SplitTracker(exists);
  const good = [
    { service: 'web-v1', weight: 90 },
    { service: 'web-east', weight: 10 },
  ];
  const [first] = tracker.refresh('shop', [split(good)], []);
  assert.deepEqual(first?.problems, []);
  assert.deepEqual(
    tracker.backendsFor('shop', 'web', 8080)?.serving?.map((b) => [b.service, b.weight]),
    [
      ['web-v1', 90],
      ['web-east', 10],
    ],
  );
  for (const [bad, reason] of [
    [[{ service: 'web-gone', weight: 1 }], 'BackendNotFound'],
    [[{ service: 'web-v1', weight: -5 }], 'NegativeWeight'],
    [
      [
        { service: 'web-v1', weight: 0 },
        { service: 'web-east', weight: 0 },
      ],
      'AllWeightsZero',
    ],
  ] as const) {
    const [outcome] = tracker.refresh('shop', [split([...bad])], []);
    assert.equal(outcome?.problems[0]?.reason, reason);
    assert.equal(outcome?.servingLastGood, true);
    assert.equal(tracker.backendsFor('shop', 'web', 8080)?.serving?.[0]?.weight, 90);
  }
  assert.deepEqual(
    tracker.refresh(
      'shop',
      [
        split([
          { service: 'web-v1', weight: 0 },
          { service: 'web-east', weight: 0 },
        ]),
      ],
      [],
    ),
    [],
  );
});

test('a split invalid from the start serves nothing, and a deleted split is forgotten', () => {
  const tracker = new SplitTracker(exists);
  const [outcome] = tracker.refresh('shop', [split([{ service: 'missing', weight: 1 }])], []);
  assert.equal(outcome?.serving, undefined);
  assert.match(
    outcome?.problems[0]?.message ?? '',
    /spec\.backends\[0\]: service shop\/missing does not exist/,
  );
  assert.equal(tracker.backendsFor('shop', 'web', 80), undefined);
  tracker.refresh('shop', [split([{ service: 'web-v1', weight: 1 }])], []);
  tracker.refresh('shop', [], []);
  const [again] = tracker.refresh('shop', [split([{ service: 'missing', weight: 1 }])], []);
  assert.equal(again?.serving, undefined);
});

test('an HTTPRoute with weighted backendRefs on a Service parent splits that service and port', () => {
  const route: HTTPRoute = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'web-split', namespace: 'shop', uid: 'r1' },
    spec: {
      parentRefs: [{ group: 'core', kind: 'Service', name: 'web', port: 8080 }],
      rules: [
        {
          backendRefs: [
            { name: 'web-v1', port: 8080, weight: 3 },
            { name: 'web-east', port: 9090, weight: 1 },
          ],
        },
      ],
    },
  };
  const tracker = new SplitTracker(exists);
  tracker.refresh('shop', [], [route]);
  assert.deepEqual(
    tracker.backendsFor('shop', 'web', 8080)?.serving?.map((b) => [b.service, b.port, b.weight]),
    [
      ['web-v1', 8080, 3],
      ['web-east', 9090, 1],
    ],
  );
  assert.equal(tracker.backendsFor('shop', 'web', 9999), undefined);
});

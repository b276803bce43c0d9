import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SplitOutcome } from './split-tracker.ts';
import { acceptedCondition } from './status-writer.ts';

const source = { kind: 'TrafficSplit', namespace: 'shop', name: 'web', uid: 'u1', generation: 4 } as const;

test('an invalid split is not accepted, names every problem and says what is served', () => {
  const outcome: SplitOutcome = {
    source,
    apexes: ['shop/web'],
    problems: [
      { reason: 'BackendNotFound', message: 'spec.backends[1]: service shop/gone does not exist' },
      { reason: 'NegativeWeight', message: 'spec.backends[0]: weight -1 is negative' },
    ],
    annotationProblems: [],
    serving: [{ service: 'web-v1', namespace: 'shop', weight: 1 }],
    servingLastGood: true,
  };
  const condition = acceptedCondition(outcome);
  assert.equal(condition.status, 'False');
  assert.equal(condition.reason, 'BackendNotFound');
  assert.equal(condition.observedGeneration, 4);
  assert.match(condition.message, /shop\/gone does not exist; spec\.backends\[0\]: weight -1 is negative/);
  assert.match(condition.message, /last good split keeps being served/);
  assert.match(
    acceptedCondition({ ...outcome, serving: undefined, servingLastGood: false }).message,
    /no split is served/,
  );
});

test('a valid split with a bad annotation is accepted with reason InvalidAnnotation', () => {
  const condition = acceptedCondition({
    source,
    apexes: ['shop/web'],
    problems: [],
    annotationProblems: ['annotation timeout.strait.io/request: "soon" is not a positive duration'],
    serving: [{ service: 'web-v1', namespace: 'shop', weight: 1 }],
    servingLastGood: false,
  });
  assert.equal(condition.status, 'True');
  assert.equal(condition.reason, 'InvalidAnnotation');
  assert.match(condition.message, /ignored: annotation timeout\.strait\.io\/request/);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FlapScore, storedFlap } from './damping.ts';
import type { HealthVerdict } from './health.ts';
import { type FailoverPolicy, parseFailoverPolicy } from './policy.ts';
import {
  type BackendObservation,
  evaluate,
  type FailoverDecision,
  type FailoverMemory,
  initialMemory,
  memoryFromStatus,
} from './state-machine.ts';
import type { Weights } from './weights.ts';

const healthy: HealthVerdict = { status: 'healthy', detail: 'within thresholds' };
const unknown: HealthVerdict = { status: 'unknown', detail: 'no data' };
const sick: HealthVerdict = { status: 'unhealthy', detail: 'success rate 0.500 < 0.9 over 30s' };

/** Drives the state machine the way the controller does: decisions become the next weights. */
class Split {
  memory: FailoverMemory;
  weights: Weights;
  backends: Map<string, BackendObservation>;
  readonly notices: string[] = [];
  readonly policy: FailoverPolicy;
  now = 1_000_000;
  last!: FailoverDecision;

  constructor(names: string[], annotations: Record<string, string> = {}) {
    this.policy = parseFailoverPolicy(annotations);
    this.memory = initialMemory(this.now);
    this.weights = Object.fromEntries(names.map((name, i) => [name, i === 0 ? 1 : 0]));
    this.backends = new Map(names.map((name) => [name, { service: name, ready: true, health: unknown }]));
  }

  set(name: string, change: Partial<BackendObservation>): this {
    this.backends.set(name, { ...(this.backends.get(name) as BackendObservation), ...change });
    return this;
  }

  step(advanceMs = 0): FailoverDecision {
    this.now += advanceMs;
    const observation = {
      primary: [...this.backends.keys()][0] as string,
      backends: [...this.backends.values()],
      weights: this.weights,
    };
    this.last = evaluate(this.memory, observation, this.policy, this.now);
    this.memory = this.last.memory;
    this.weights = this.last.weights;
    if (this.last.notice) this.notices.push(`${this.last.notice.type}/${this.last.notice.reason}`);
    return this.last;
  }

  get state(): string {
    return this.memory.state;
  }
}

const fast = {
  'failover.strait.io/hold-down': '10s',
  'failover.strait.io/ramp-step-interval': '5s',
  'failover.strait.io/ramp-steps': '10,50,100',
};

describe('failover state machine', () => {
  it('keeps all weight on a ready primary', () => {
    const split = new Split(['web', 'web-east']);
    const decision = split.step();
    assert.equal(split.state, 'Primary');
    assert.equal(split.memory.reason, 'PrimaryReady');
    assert.deepEqual(decision.weights, { web: 100, 'web-east': 0 });
    assert.deepEqual(decision.activeBackends, ['web']);
    assert.equal(decision.notice, undefined);
  });

  it('fails over to the ready secondaries when the primary has no ready endpoints', () => {
    const split = new Split(['web', 'web-east', 'web-north', 'web-south']);
    split.set('web-south', { ready: false }).step();
    const decision = split.set('web', { ready: false, notReadyReason: 'no ready endpoints' }).step(1000);
    assert.equal(split.state, 'Failover');
    assert.equal(split.memory.reason, 'PrimaryNotReady');
    assert.deepEqual(decision.weights, { web: 0, 'web-east': 50, 'web-north': 50, 'web-south': 0 });
    assert.deepEqual(decision.activeBackends, ['web-east', 'web-north']);
    assert.equal(decision.notice?.type, 'Warning');
    assert.equal(decision.notice?.reason, 'FailedOver');
    assert.equal(decision.notice?.from, 'Primary');
    assert.equal(decision.notice?.to, 'Failover');
    assert.match(
      decision.notice?.message ?? '',
      /web: no ready endpoints; traffic to web-east, web-north; failback after 60s of good health/,
    );
    assert.equal(split.memory.since, split.now);
  });

  it('fails over when the primary is ready but unhealthy', () => {
    const split = new Split(['web', 'web-east']);
    split.step();
    split.set('web', { health: sick }).set('web-east', { health: healthy }).step(1000);
    assert.equal(split.state, 'Failover');
    assert.equal(split.memory.reason, 'PrimaryUnhealthy');
    assert.deepEqual(split.weights, { web: 0, 'web-east': 100 });
  });

  it('keeps the last weights and warns once when no backend is ready', () => {
    const split = new Split(['web', 'web-east']);
    split.step();
    split.set('web', { ready: false }).set('web-east', { ready: false });
    const first = split.step(1000);
    assert.equal(split.state, 'Primary');
    assert.equal(split.memory.reason, 'NoReadyBackend');
    assert.deepEqual(first.weights, { web: 100, 'web-east': 0 });
    assert.equal(first.notice?.reason, 'NoReadyBackend');
    assert.equal(split.step(1000).notice, undefined, 'the warning is not repeated');
    split.set('web', { ready: true }).step(1000);
    assert.equal(split.memory.reason, 'PrimaryReady');
  });

  it('stays on an unhealthy primary when no secondary is ready', () => {
    const split = new Split(['web', 'web-east']);
    split.set('web-east', { ready: false }).set('web', { health: sick });
    const decision = split.step();
    assert.equal(split.state, 'Primary');
    assert.equal(split.memory.reason, 'NoReadySecondary');
    assert.equal(decision.notice?.reason, 'NoReadySecondary');
    assert.deepEqual(decision.weights, { web: 100, 'web-east': 0 });
  });

  it('fails back through the ramp after the hold-down', () => {
    const split = new Split(['web', 'web-east'], fast);
    split.step();
    split.set('web', { ready: false }).step(1000);
    assert.equal(split.state, 'Failover');

    split.set('web', { ready: true });
    let decision = split.step(1000);
    assert.equal(split.state, 'Failover');
    assert.equal(split.memory.reason, 'HoldingDown');
    assert.equal(decision.recheckAt, split.now + 10_000, 'asks to be woken when the hold-down ends');
    assert.deepEqual(decision.weights, { web: 0, 'web-east': 100 });

    decision = split.step(9_999);
    assert.equal(split.state, 'Failover', 'not before the hold-down has elapsed');

    decision = split.step(1);
    assert.equal(split.state, 'FailingBack');
    assert.equal(decision.notice?.reason, 'FailbackStarted');
    assert.deepEqual(decision.weights, { web: 10, 'web-east': 90 });
    assert.equal(decision.recheckAt, split.now + 5000);

    decision = split.step(4_000);
    assert.deepEqual(decision.weights, { web: 10, 'web-east': 90 }, 'a step lasts the step interval');
    assert.equal(decision.notice, undefined);

    decision = split.step(1_000);
    assert.deepEqual(decision.weights, { web: 50, 'web-east': 50 });
    assert.equal(decision.notice?.reason, 'FailbackStep');

    decision = split.step(5_000);
    assert.equal(split.state, 'Primary');
    assert.equal(split.memory.reason, 'RampCompleted');
    assert.deepEqual(decision.weights, { web: 100, 'web-east': 0 });
    assert.equal(decision.notice?.reason, 'FailedBack');
    assert.deepEqual(split.notices, [
      'Warning/FailedOver',
      'Normal/FailbackStarted',
      'Normal/FailbackStep',
      'Normal/FailedBack',
    ]);
  });

  it('holds a ramp step until the primary shows healthy traffic, when asked to', () => {
    const split = new Split(['web', 'web-east'], {
      ...fast,
      'failover.strait.io/ramp-needs-evidence': 'true',
    });
    split.set('web', { ready: false }).step();
    split.set('web', { ready: true }).step(1000);
    split.step(10_000);
    assert.equal(split.state, 'FailingBack');
    let decision = split.step(5000);
    assert.equal(split.memory.reason, 'AwaitingEvidence');
    assert.deepEqual(decision.weights, { web: 10, 'web-east': 90 }, 'no verdict: the step holds');
    decision = split.set('web', { health: healthy }).step(1000);
    assert.deepEqual(decision.weights, { web: 50, 'web-east': 50 }, 'healthy traffic: the ramp goes on');
    assert.equal(split.memory.reason, 'Ramping');
  });

  it('restarts the hold-down when the primary drops during it', () => {
    const split = new Split(['web', 'web-east'], fast);
    split.set('web', { ready: false }).step();
    split.set('web', { ready: true }).step(1000);
    split.step(8000);
    split.set('web', { ready: false }).step(1000);
    split.set('web', { ready: true }).step(1000);
    split.step(10_000);
    assert.equal(split.state, 'Failover', 'the hold-down counts from the last recovery, doubled by the flap');
    split.step(9_999);
    assert.equal(split.state, 'Failover');
    split.step(1);
    assert.equal(split.state, 'FailingBack');
  });

  it('aborts the ramp when the primary becomes unhealthy, and holds down longer', () => {
    const split = new Split(['web', 'web-east'], fast);
    split.set('web', { ready: false }).step();
    split.set('web', { ready: true }).step(1000);
    split.step(10_000);
    assert.equal(split.state, 'FailingBack');

    const aborted = split.set('web', { health: sick }).step(2000);
    assert.equal(split.state, 'Failover');
    assert.equal(split.memory.reason, 'RampAborted');
    assert.equal(aborted.notice?.reason, 'FailbackAborted');
    assert.match(aborted.notice?.message ?? '', /failback aborted at 10% on web: success rate/);
    assert.match(
      aborted.notice?.message ?? '',
      /failback after 20s of good health/,
      'the damped hold-down is told',
    );
    assert.deepEqual(aborted.weights, { web: 0, 'web-east': 100 });

    split.set('web', { health: unknown }).step(1000);
    split.step(19_999);
    assert.equal(split.state, 'Failover', 'second flap: hold-down doubled to 20s');
    split.step(1);
    assert.equal(split.state, 'FailingBack');
  });

  it('damps a flapping primary and forgets old flaps', () => {
    const split = new Split(['web', 'web-east'], { ...fast, 'failover.strait.io/flap-half-life': '1m' });
    split.set('web', { ready: false }).step();
    assert.equal(split.state, 'Failover');
    split.set('web', { ready: true }).step(1000);
    split.set('web', { ready: false }).step(1000);
    split.set('web', { ready: true }).step(1000);
    split.set('web', { ready: false }).step(1000);
    split.set('web', { ready: true }).step(1000);
    assert.equal(split.state, 'Failover');
    assert.equal(Math.round(split.memory.flap?.score ?? 0), 3);
    split.step(39_000);
    assert.equal(split.state, 'Failover', 'three quick flaps: hold-down 40s');
    split.step(1000);
    assert.equal(split.state, 'FailingBack');

    const later = new Split(['web', 'web-east'], { ...fast, 'failover.strait.io/flap-half-life': '1m' });
    later.set('web', { ready: false }).step();
    later.set('web', { ready: true }).step(1000);
    later.step(10_000);
    later.step(5000);
    later.step(5000);
    assert.equal(later.state, 'Primary');
    later.step(3_600_000);
    later.set('web', { ready: false }).step(1000);
    later.set('web', { ready: true }).step(1000);
    later.step(10_000);
    assert.equal(later.state, 'FailingBack', 'an hour later the old flap no longer lengthens the hold-down');
  });

  it('caps how fast weight moves toward a degrading secondary while the primary still serves', () => {
    const split = new Split(['web', 'web-east'], {
      ...fast,
      'failover.strait.io/max-shift-to-degrading': '30',
    });
    split.step();
    split.set('web', { health: sick }).set('web-east', { health: sick });
    let decision = split.step(1000);
    assert.equal(split.state, 'Failover');
    assert.deepEqual(decision.weights, { web: 70, 'web-east': 30 });
    assert.equal(decision.recheckAt, split.now + 5000);

    decision = split.step(1000);
    assert.deepEqual(decision.weights, { web: 70, 'web-east': 30 }, 'no further shift within the interval');
    decision = split.step(4000);
    assert.deepEqual(decision.weights, { web: 40, 'web-east': 60 });
    decision = split.step(5000);
    assert.deepEqual(decision.weights, { web: 10, 'web-east': 90 });
    decision = split.step(5000);
    assert.deepEqual(decision.weights, { web: 0, 'web-east': 100 });
    assert.equal(decision.recheckAt, undefined);
  });

  it('sends held-back weight to a healthy secondary rather than the primary', () => {
    const split = new Split(['web', 'web-east', 'web-north'], fast);
    split.step();
    split
      .set('web', { health: sick })
      .set('web-east', { health: sick })
      .set('web-north', { health: healthy });
    const decision = split.step(1000);
    assert.deepEqual(decision.weights, { web: 0, 'web-east': 25, 'web-north': 75 });
  });

  it('does not cap when the primary cannot serve at all', () => {
    const split = new Split(['web', 'web-east'], fast);
    split.step();
    const decision = split.set('web', { ready: false }).set('web-east', { health: sick }).step(1000);
    assert.deepEqual(decision.weights, { web: 0, 'web-east': 100 });
  });

  it('returns to the primary at once when every secondary is lost during failover', () => {
    const split = new Split(['web', 'web-east'], fast);
    split.set('web', { ready: false }).step();
    split.set('web', { ready: true }).step(1000);
    const decision = split.set('web-east', { ready: false }).step(1000);
    assert.equal(split.state, 'Primary');
    assert.equal(split.memory.reason, 'SecondariesNotReady');
    assert.deepEqual(decision.weights, { web: 100, 'web-east': 0 });
    assert.equal(decision.notice?.type, 'Warning');
  });

  it('fails back at once with a zero hold-down and a single step (Linkerd behaviour)', () => {
    const split = new Split(['web', 'web-east'], {
      'failover.strait.io/hold-down': '0s',
      'failover.strait.io/ramp-steps': '100',
    });
    split.set('web', { ready: false }).step();
    const decision = split.set('web', { ready: true }).step(1);
    assert.equal(split.state, 'Primary');
    assert.equal(split.memory.reason, 'PrimaryRecovered');
    assert.deepEqual(decision.weights, { web: 100, 'web-east': 0 });
  });

  it('resumes a failback from the status after a restart', () => {
    const split = new Split(['web', 'web-east'], fast);
    const observation = {
      primary: 'web',
      backends: [...split.backends.values()],
      weights: { web: 5, 'web-east': 5 },
    };
    const status = { state: 'FailingBack' as const, reason: 'Ramping', since: '2026-01-01T00:00:00.000Z' };
    const memory = memoryFromStatus(status, observation, split.policy, split.now);
    assert.equal(memory.state, 'FailingBack');
    assert.equal(memory.rampStep, 1, '50% on the primary is the second step');
    assert.equal(memory.since, Date.parse(status.since));
    split.memory = memory;
    split.weights = observation.weights;
    split.step(5000);
    assert.equal(split.state, 'Primary');
  });

  it('keeps a flapping primary held out longer across a restart, from the stored flap score', () => {
    const damped = { ...fast, 'failover.strait.io/flap-half-life': '1h' };
    const split = new Split(['web', 'web-east'], damped);
    for (let flap = 0; flap < 3; flap++) {
      split.set('web', { ready: false }).step(1000);
      split.set('web', { ready: true }).step(1000);
    }
    const stored = storedFlap(split.memory.flap as FlapScore);
    assert.equal(Math.round(Number(stored.score)), 3);

    const observation = { primary: 'web', backends: [...split.backends.values()], weights: split.weights };
    const status = {
      state: 'Failover' as const,
      reason: 'HoldingDown',
      since: new Date(split.now).toISOString(),
    };
    const restarted = new Split(['web', 'web-east'], damped);
    restarted.memory = memoryFromStatus({ ...status, flap: stored }, observation, split.policy, split.now);
    restarted.weights = split.weights;
    restarted.now = split.now;
    restarted.step();
    restarted.step(39_000);
    assert.equal(restarted.state, 'Failover', 'three flaps before the restart: still 40s, not 10s');
    restarted.step(1000);
    assert.equal(restarted.state, 'FailingBack');

    const forgetful = memoryFromStatus(status, observation, split.policy, split.now);
    assert.equal(forgetful.flap?.score, 1, 'without a stored score, one flap');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdDownFor, recordFlap } from './damping.ts';
import { judgeHealth } from './health.ts';
import { defaultFailoverPolicy, FailoverPolicyError, parseFailoverPolicy } from './policy.ts';

describe('failover policy annotations', () => {
  it('uses safe defaults without annotations', () => {
    const policy = parseFailoverPolicy(undefined);
    assert.deepEqual(policy, { ...defaultFailoverPolicy });
    assert.deepEqual(policy.rampSteps, [10, 25, 50, 100]);
    assert.equal(policy.minSuccessRate, 0.9);
    assert.equal(policy.maxP99LatencyMs, undefined);
  });

  it('reads every annotation', () => {
    const policy = parseFailoverPolicy({
      'failover.strait.io/hold-down': '2m',
      'failover.strait.io/max-hold-down': '1h',
      'failover.strait.io/flap-half-life': '5m',
      'failover.strait.io/ramp-steps': '5, 20%, 60',
      'failover.strait.io/ramp-step-interval': '10s',
      'failover.strait.io/health-window': '1m',
      'failover.strait.io/min-success-rate': '0.99',
      'failover.strait.io/max-p99-latency': '250ms',
      'failover.strait.io/min-requests': '50',
      'failover.strait.io/max-shift-to-degrading': '10',
      'failover.strait.io/ramp-needs-evidence': 'true',
    });
    assert.deepEqual(policy, {
      holdDownMs: 120_000,
      maxHoldDownMs: 3_600_000,
      flapHalfLifeMs: 300_000,
      rampSteps: [5, 20, 60, 100],
      rampStepIntervalMs: 10_000,
      healthWindowMs: 60_000,
      minSuccessRate: 0.99,
      maxP99LatencyMs: 250,
      minRequests: 50,
      maxShiftToDegrading: 10,
      rampNeedsEvidence: true,
    });
  });

  it('names the annotation and the reason for bad values', () => {
    const cases: [string, string, RegExp][] = [
      ['failover.strait.io/hold-down', 'soon', /hold-down="soon": is not a duration/],
      ['failover.strait.io/ramp-steps', '50,25,100', /steps must rise/],
      ['failover.strait.io/ramp-steps', '0,100', /whole percentage from 1 to 100/],
      ['failover.strait.io/ramp-steps', '10,,100', /whole percentage/],
      ['failover.strait.io/min-success-rate', '95', /must be a number from 0 to 1/],
      ['failover.strait.io/max-shift-to-degrading', '0', /from 1 to 100/],
      ['failover.strait.io/min-requests', 'many', /must be a number/],
      ['failover.strait.io/flap-half-life', '0s', /longer than 0/],
      ['failover.strait.io/ramp-needs-evidence', 'yes', /must be true or false/],
    ];
    for (const [name, value, message] of cases) {
      assert.throws(
        () => parseFailoverPolicy({ [name]: value }),
        (error: unknown) =>
          error instanceof FailoverPolicyError &&
          error.code === 'E_FAILOVER_ANNOTATION' &&
          error.annotation === name &&
          message.test(error.message) &&
          typeof error.hint === 'string',
        `${name}=${value}`,
      );
    }
  });

  it('never lets the maximum hold-down undercut the hold-down', () => {
    const policy = parseFailoverPolicy({ 'failover.strait.io/hold-down': '1h' });
    assert.equal(policy.maxHoldDownMs, 3_600_000);
  });
});

describe('flap damping', () => {
  const policy = parseFailoverPolicy({
    'failover.strait.io/hold-down': '10s',
    'failover.strait.io/max-hold-down': '60s',
    'failover.strait.io/flap-half-life': '1m',
  });

  it('doubles the hold-down per recent flap up to the maximum', () => {
    let flap = recordFlap(undefined, 0, policy);
    assert.equal(holdDownFor(flap, 0, policy), 10_000);
    flap = recordFlap(flap, 1000, policy);
    assert.equal(holdDownFor(flap, 1000, policy), 20_000);
    flap = recordFlap(flap, 2000, policy);
    assert.equal(holdDownFor(flap, 2000, policy), 40_000);
    flap = recordFlap(flap, 3000, policy);
    assert.equal(holdDownFor(flap, 3000, policy), 60_000, 'capped');
  });

  it('halves the score every half-life', () => {
    const flap = recordFlap(recordFlap(undefined, 0, policy), 0, policy);
    assert.equal(holdDownFor(flap, 0, policy), 20_000);
    assert.equal(holdDownFor(flap, 120_000, policy), 10_000, 'two half-lives later the score is 0.5');
    assert.equal(holdDownFor(undefined, 0, policy), 10_000);
  });
});

describe('health verdicts', () => {
  const policy = parseFailoverPolicy({ 'failover.strait.io/max-p99-latency': '200ms' });

  it('gives no verdict on too few requests', () => {
    assert.equal(judgeHealth(undefined, policy).status, 'unknown');
    assert.equal(judgeHealth({ requests: 19, successRate: 0, latencyP99Ms: 1 }, policy).status, 'unknown');
  });

  it('judges success rate and latency against the thresholds', () => {
    assert.equal(
      judgeHealth({ requests: 100, successRate: 0.95, latencyP99Ms: 100 }, policy).status,
      'healthy',
    );
    const lowRate = judgeHealth({ requests: 100, successRate: 0.5, latencyP99Ms: 100 }, policy);
    assert.equal(lowRate.status, 'unhealthy');
    assert.match(lowRate.detail, /success rate 0\.500 < 0\.9 over 30s/);
    const slow = judgeHealth({ requests: 100, successRate: 1, latencyP99Ms: 900 }, policy);
    assert.equal(slow.status, 'unhealthy');
    assert.match(slow.detail, /p99 latency 900ms > 200ms/);
  });
});

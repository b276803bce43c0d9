import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureAccrual } from './failure-accrual.ts';
import { pickP2c } from './p2c.ts';
import { PeakEwma } from './peak-ewma.ts';
import { RetryBudget } from './retry-budget.ts';

function candidate(name: string, weight: number, load: number, available = true, group?: string) {
  return { name, weight, group, load: () => load, available: () => available };
}

function shares(pick: () => { name: string } | undefined, rounds: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < rounds; i++) {
    const name = pick()?.name ?? '';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return new Map([...counts].map(([name, count]) => [name, count / rounds]));
}

describe('balancing', () => {
  it('p2c prefers the less loaded of two', () => {
    const fast = candidate('fast', 1, 1);
    const slow = candidate('slow', 1, 100);
    let fastPicks = 0;
    for (let i = 0; i < 1000; i++) if (pickP2c([fast, slow]) === fast) fastPicks++;
    assert.equal(fastPicks, 1000);
  });

  it('p2c respects weights among equally loaded endpoints', () => {
    const a = candidate('a', 1, 10);
    const b = candidate('b', 3, 10);
    const c = candidate('c', 0, 10);
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const pick = pickP2c([a, b, c]) as { name: string };
      counts.set(pick.name, (counts.get(pick.name) ?? 0) + 1);
    }
    assert.equal(counts.get('c') ?? 0, 0);
    const share = (counts.get('b') ?? 0) / 20_000;
    assert.ok(share > 0.7 && share < 0.8, `b share ${share}`);
  });

  it('p2c holds an even split between two backends of one endpoint each, whatever their latency', () => {
    const fast = candidate('fast', 500_000, 1, true, 'shop/backend');
    const slow = candidate('slow', 500_000, 100, true, 'shop/backend-east');
    const share = shares(() => pickP2c([fast, slow]), 20_000).get('fast') ?? 0;
    assert.ok(share > 0.45 && share < 0.55, `fast share ${share}`);
  });

  it('p2c splits by backend first, then prefers the less loaded endpoint inside a backend', () => {
    // 50/50 between a backend of two endpoints (250,000 each) and a backend of one (500,000).
    const west1 = candidate('west1', 250_000, 1, true, 'shop/backend');
    const west2 = candidate('west2', 250_000, 100, true, 'shop/backend');
    const east = candidate('east', 500_000, 50, true, 'shop/backend-east');
    const result = shares(() => pickP2c([west1, west2, east]), 20_000);
    const eastShare = result.get('east') ?? 0;
    assert.ok(eastShare > 0.45 && eastShare < 0.55, `east share ${eastShare}`);
    assert.equal(result.get('west2') ?? 0, 0, 'inside a backend p2c picks the faster endpoint');
    // A third of the traffic to a backend whose endpoints weigh the same as the other's.
    const a1 = candidate('a1', 333_333, 1, true, 'shop/a');
    const a2 = candidate('a2', 333_333, 1, true, 'shop/a');
    const b = candidate('b', 333_333, 100, true, 'shop/b');
    const bShare = shares(() => pickP2c([a1, a2, b]), 30_000).get('b') ?? 0;
    assert.ok(bShare > 0.3 && bShare < 0.37, `b share ${bShare}`);
  });

  it('p2c still prefers the faster of equal endpoints of one backend', () => {
    const fast = candidate('fast', 10_000, 1, true, 'shop/backend');
    const slow = candidate('slow', 10_000, 100, true, 'shop/backend');
    assert.equal(shares(() => pickP2c([fast, slow]), 1000).get('fast'), 1);
  });

  it('p2c gives a backend whose endpoints are all ejected no traffic while the other has some', () => {
    const up = candidate('up', 500_000, 100, true, 'shop/a');
    const down = candidate('down', 500_000, 1, false, 'shop/b');
    assert.equal(shares(() => pickP2c([up, down]), 1000).get('up'), 1);
  });

  it('p2c skips ejected endpoints unless nothing else is left', () => {
    const ok = candidate('ok', 1, 50);
    const ejected = candidate('ejected', 1, 1, false);
    for (let i = 0; i < 100; i++) assert.equal(pickP2c([ok, ejected]), ok);
    assert.equal(pickP2c([ejected]), ejected);
  });

  it('peak-EWMA jumps to a slow sample and decays back', () => {
    let now = 0;
    const ewma = new PeakEwma({ defaultRttMs: 10, decayMs: 1000, now: () => now });
    ewma.observe(200);
    assert.equal(ewma.load(), 200);
    now += 3000;
    ewma.observe(10);
    assert.ok(ewma.load() < 25, `decayed load ${ewma.load()}`);
    ewma.start();
    ewma.start();
    assert.ok(ewma.load() > 2 * 10, 'pending requests raise the load');
  });

  it('failure accrual ejects after consecutive failures and probes after the penalty', () => {
    let now = 0;
    const breaker = new FailureAccrual({ maxFailures: 3, minPenaltyMs: 1000, jitter: 0, now: () => now });
    breaker.failure();
    breaker.failure();
    assert.ok(breaker.available());
    breaker.failure();
    assert.ok(!breaker.available());
    now += 1000;
    assert.ok(breaker.available(), 'probe allowed after the penalty');
    breaker.acquire();
    assert.ok(!breaker.available(), 'only one probe at a time');
    breaker.failure();
    now += 1999;
    assert.ok(!breaker.available(), 'penalty doubled after a failed probe');
    now += 1;
    breaker.acquire();
    breaker.success();
    assert.ok(breaker.available());
  });

  it('failure accrual lets another probe through when a probe never reports back', () => {
    let now = 0;
    const breaker = new FailureAccrual({ maxFailures: 1, minPenaltyMs: 1000, jitter: 0, now: () => now });
    breaker.failure();
    now += 1000;
    breaker.acquire();
    assert.ok(!breaker.available(), 'the probe is out');
    now += 999;
    assert.ok(!breaker.available());
    now += 1;
    assert.ok(breaker.available(), 'a probe with no outcome for a whole penalty is given up');
    breaker.acquire();
    breaker.failure();
    now += 1999;
    assert.ok(!breaker.available(), 'a failed probe still doubles the penalty');
  });

  it('retry budget allows the floor plus a ratio of requests', () => {
    let now = 0;
    const budget = new RetryBudget({
      retryRatio: 0.2,
      minRetriesPerSecond: 1,
      ttlMs: 10_000,
      now: () => now,
    });
    let allowed = 0;
    while (budget.withdraw()) allowed++;
    assert.equal(allowed, 10);
    for (let i = 0; i < 100; i++) budget.deposit();
    assert.ok(budget.withdraw());
    let more = 1;
    while (budget.withdraw()) more++;
    assert.equal(more, 20);
    now += 11_000;
    assert.ok(budget.withdraw(), 'the window slides');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureAccrual } from './failure-accrual.ts';
import { pickP2c } from './p2c.ts';
import { PeakEwma } from './peak-ewma.ts';
import { RetryBudget } from './retry-budget.ts';

function candidate(name: string, weight: number, load: number, available = true) {
  return { name, weight, load: () => load, available: () => available };
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

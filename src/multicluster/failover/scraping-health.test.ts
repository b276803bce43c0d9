import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MetricsFormatError, parsePrometheusText } from './prometheus-text.ts';
import { quantile, ScrapingHealthSource } from './scraping-health.ts';

/** A proxy admin endpoint whose counters the test moves forward. */
function metricsText(counts: {
  ok: number;
  failed: number;
  fast: number;
  slow: number;
  other?: number;
}): string {
  const labels = 'direction="outbound",dst_namespace="shop",dst_service="web",tls="true"';
  return [
    '# HELP response_total Responses',
    '# TYPE response_total counter',
    `response_total{${labels},classification="success",status_code="200"} ${counts.ok}`,
    `response_total{${labels},classification="failure",status_code="503"} ${counts.failed}`,
    `response_total{direction="inbound",dst_namespace="shop",dst_service="web",classification="failure"} 999`,
    `response_total{direction="outbound",dst_namespace="shop",dst_service="db",classification="success"} ${counts.other ?? 0}`,
    '# TYPE response_latency_ms histogram',
    `response_latency_ms_bucket{${labels},le="10"} ${counts.fast}`,
    `response_latency_ms_bucket{${labels},le="100"} ${counts.fast}`,
    `response_latency_ms_bucket{${labels},le="1000"} ${counts.fast + counts.slow}`,
    `response_latency_ms_bucket{${labels},le="+Inf"} ${counts.fast + counts.slow}`,
    `response_latency_ms_count{${labels}} ${counts.fast + counts.slow}`,
    '',
  ].join('\n');
}

describe('scraping health source', () => {
  let server: Server;
  let body = '';
  let url = '';

  before(async () => {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('measures success rate and p99 of outbound calls over a window', async () => {
    let now = 0;
    const source = new ScrapingHealthSource({ targets: [url], clock: () => now });
    body = metricsText({ ok: 1000, failed: 0, fast: 1000, slow: 0 });
    await source.scrapeOnce();
    assert.equal(source.sample('shop', 'web', 30_000), undefined, 'one scrape is not a window');

    now = 10_000;
    body = metricsText({ ok: 1080, failed: 20, fast: 1090, slow: 10 });
    await source.scrapeOnce();
    const sample = source.sample('shop', 'web', 30_000);
    assert.equal(sample?.requests, 100);
    assert.equal(sample?.successRate, 0.8);
    assert.ok(sample?.latencyP99Ms !== undefined && sample.latencyP99Ms > 100 && sample.latencyP99Ms <= 1000);
    assert.equal(source.sample('shop', 'missing', 30_000), undefined);
  });

  it('compares against the snapshot a window back, and survives a counter reset', async () => {
    let now = 0;
    const source = new ScrapingHealthSource({ targets: [`${url}/metrics`], clock: () => now });
    body = metricsText({ ok: 100, failed: 100, fast: 200, slow: 0 });
    await source.scrapeOnce();
    now = 20_000;
    body = metricsText({ ok: 200, failed: 100, fast: 300, slow: 0 });
    await source.scrapeOnce();
    now = 40_000;
    body = metricsText({ ok: 300, failed: 100, fast: 400, slow: 0 });
    await source.scrapeOnce();
    assert.deepEqual(source.sample('shop', 'web', 20_000), {
      requests: 100,
      successRate: 1,
      latencyP99Ms: 9.9,
    });
    assert.equal(source.sample('shop', 'web', 40_000)?.requests, 200, 'a longer window reaches back further');

    now = 60_000;
    body = metricsText({ ok: 10, failed: 40, fast: 50, slow: 0 });
    await source.scrapeOnce();
    const reset = source.sample('shop', 'web', 20_000);
    assert.equal(reset?.requests, 50, 'the proxy restarted: its counters are all new');
    assert.equal(reset?.successRate, 0.2);
  });

  it('forgets the history of a target that is removed', async () => {
    let now = 0;
    const source = new ScrapingHealthSource({ targets: [url], clock: () => now });
    body = metricsText({ ok: 0, failed: 0, fast: 0, slow: 0 });
    await source.scrapeOnce();
    now = 10_000;
    body = metricsText({ ok: 0, failed: 50, fast: 50, slow: 0 });
    await source.scrapeOnce();
    assert.equal(source.sample('shop', 'web', 30_000)?.successRate, 0);
    source.setTargets([]);
    assert.deepEqual(source.targets, []);
    assert.equal(source.sample('shop', 'web', 30_000), undefined);
    source.setTargets([url]);
    assert.deepEqual(source.targets, [`${url}/metrics`]);
  });

  it('reports unreachable and malformed targets without failing', async () => {
    const errors: string[] = [];
    const source = new ScrapingHealthSource({
      targets: ['http://127.0.0.1:1/metrics', url],
      onError: (target, message) => errors.push(`${target}: ${message}`),
    });
    body = 'response_total{direction="outbound" 12\n';
    await source.scrapeOnce();
    assert.equal(errors.length, 2);
    assert.match(errors[0] as string, /127\.0\.0\.1:1\/metrics/);
    assert.match(errors[1] as string, /line 1: expected , or } after a label \(E_METRICS_FORMAT\)/);
    assert.equal(source.sample('shop', 'web', 30_000), undefined);
  });
});

describe('prometheus text', () => {
  it('parses labels with escapes, special values and timestamps', () => {
    const samples = parsePrometheusText(
      'a_total{path="/x\\"y",note="1\\\\2\\n"} 3 1700000000000\nb +Inf\nc{} NaN\n',
      'test',
    );
    assert.deepEqual(samples[0], { name: 'a_total', labels: { path: '/x"y', note: '1\\2\n' }, value: 3 });
    assert.equal(samples[1]?.value, Number.POSITIVE_INFINITY);
    assert.ok(Number.isNaN(samples[2]?.value));
  });

  it('names the line of bad input', () => {
    assert.throws(() => parsePrometheusText('ok 1\n{x="1"} 2', 'src'), MetricsFormatError);
    assert.throws(() => parsePrometheusText('m{x=1} 2', 'src'), /src: line 1: label x has no quoted value/);
    assert.throws(() => parsePrometheusText('m{x="1} 2', 'src'), /unterminated value/);
    assert.throws(() => parsePrometheusText('m abc', 'src'), /"abc" is not a sample value/);
  });

  it('interpolates quantiles within a bucket', () => {
    assert.equal(
      quantile(
        0.5,
        new Map([
          [100, 10],
          [Number.POSITIVE_INFINITY, 10],
        ]),
      ),
      50,
    );
    assert.equal(quantile(0.99, new Map()), undefined);
  });
});

// Answers a caller's proxy gives itself (503 when a backend has no endpoint left) carry the same
// dst_* and target_cluster labels as relayed answers, so the failover operator's health view
// counts them against the backend. A real proxy, a real application, the proxy's /metrics.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, metricValue, proxyWith, scrape, viaProxy } from '../proxy/helpers.ts';

const WEB = 'web.shop.svc.cluster.local:8080';
const WEB_EAST = 'web-east.shop.svc.cluster.local:8080';

describe('answers the proxy gives itself are labelled like relayed ones', () => {
  const app = http.createServer((_request, response) => response.end('east\n'));
  let proxy: RunningProxy;

  before(async () => {
    const port = await listen(app);
    proxy = await proxyWith({
      endpoints: {
        [WEB]: [],
        [WEB_EAST]: [
          {
            address: '127.0.0.1',
            port,
            labels: { namespace: 'shop', service: 'web-east', target_cluster: 'east' },
          },
        ],
      },
    });
  });
  after(async () => {
    await proxy.close();
    app.close();
    app.closeAllConnections();
  });

  it('labels a 503 with the service its name gives, and a mirror’s with its cluster', async () => {
    assert.equal((await viaProxy(proxy.ports.outbound, `http://${WEB_EAST}/`)).status, 200);
    proxy.staticResolver?.set(WEB_EAST, []);
    const gone = await viaProxy(proxy.ports.outbound, `http://${WEB_EAST}/`);
    assert.equal(gone.status, 503, gone.body);
    const never = await viaProxy(proxy.ports.outbound, `http://${WEB}/`);
    assert.equal(never.status, 503, never.body);

    const metrics = await scrape(proxy.ports.admin);
    const series = (...parts: string[]) =>
      metricValue(metrics, 'response_total', 'direction="outbound"', ...parts);
    assert.equal(
      series(
        `authority="${WEB_EAST}"`,
        'dst_namespace="shop"',
        'dst_service="web-east"',
        'target_cluster="east"',
        'status_code="503"',
        'classification="failure"',
      ),
      1,
      metrics,
    );
    assert.equal(
      series(
        `authority="${WEB}"`,
        'dst_namespace="shop"',
        'dst_service="web"',
        'status_code="503"',
        'classification="failure"',
      ),
      1,
      metrics,
    );
    assert.equal(
      metricValue(metrics, 'request_total', 'direction="outbound"', 'dst_service="web"'),
      1,
      'a request answered by the proxy counts as started',
    );
  });
});

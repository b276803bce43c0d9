// A caller's proxy retries a GET that failed on an endpoint at another endpoint, even one of
// weight 0 (a failover secondary that gets traffic only when nothing else is left), so a primary
// endpoint that vanishes before discovery says so costs no request. A real proxy and real sockets.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, proxyWith, viaProxy } from '../proxy/helpers.ts';

const WEB = 'web.shop.svc.cluster.local:8080';

describe('a retried request goes to another endpoint', () => {
  const secondary = http.createServer((_request, response) => response.end('east\n'));
  let proxy: RunningProxy;

  before(async () => {
    const gone = http.createServer();
    const stoppedPort = await listen(gone);
    gone.close();
    proxy = await proxyWith({
      endpoints: {
        [WEB]: [
          {
            address: '127.0.0.1',
            port: stoppedPort,
            weight: 1,
            labels: { namespace: 'shop', service: 'web' },
          },
          {
            address: '127.0.0.1',
            port: await listen(secondary),
            weight: 0,
            labels: { namespace: 'shop', service: 'web-east', target_cluster: 'east' },
          },
        ],
      },
    });
  });
  after(async () => {
    await proxy.close();
    secondary.close();
    secondary.closeAllConnections();
  });

  it('answers every GET from the weight-0 endpoint while the weighted one refuses connections', async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await viaProxy(proxy.ports.outbound, `http://${WEB}/`);
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.body, 'east\n');
    }
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  type DestinationServiceHandle,
  startDestinationService,
} from '../../../src/control-plane/destination/start.ts';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import type { HTTPRoute, TrafficSplit } from '../../../src/core/api/traffic.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { issueWorkloadCertificate } from '../../../src/pki/index.ts';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, proxyWith, testMesh, viaProxy } from './helpers.ts';

const DESTINATION_ID = 'strait-destination.strait.serviceaccount.identity.strait.cluster.local';

function service(name: string, annotations: Record<string, string> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', annotations },
    spec: { ports: [{ name: 'http', port: 80 }] },
  };
}

function endpoints(name: string, port: number): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'shop' },
    subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'http', port }] }],
  };
}

/** An application that answers with its name, and fails or stalls on request. */
function app(name: string) {
  const seen: Array<{ method: string; path: string; body: string }> = [];
  let failuresLeft = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', path: req.url ?? '', body });
      if (req.url?.startsWith('/slow')) {
        const timer = setTimeout(() => res.end(`${name} slow`), 1_500);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      if (req.url?.startsWith('/flaky') && failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(500).end('broken');
        return;
      }
      res.end(`${name} ${body}`.trim());
    });
  });
  return {
    server,
    seen,
    failNext(count: number) {
      failuresLeft = count;
    },
  };
}

async function eventually(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a proxy following service profiles from the destination service', () => {
  const mesh = testMesh();
  const apps = { api: app('api'), web: app('web'), v1: app('v1'), v2: app('v2') };
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  let destination: DestinationServiceHandle;
  let proxy: RunningProxy;
  const url = (svc: string, path: string) => `http://${svc}.shop.svc.cluster.local:80${path}`;

  before(async () => {
    store = await openLocalStore({});
    await store.create(service('api', { 'retry.strait.io/http': '5xx' }));
    for (const name of ['web', 'v1', 'v2']) await store.create(service(name));
    for (const [name, a] of Object.entries(apps)) await store.create(endpoints(name, await listen(a.server)));
    await store.create({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'api-routes', namespace: 'shop' },
      spec: {
        parentRefs: [{ kind: 'Service', name: 'api', port: 80 }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/slow' } }], timeouts: { request: '300ms' } },
        ],
      },
    } satisfies HTTPRoute);
    const server = issueWorkloadCertificate({ issuer: mesh.issuer, identity: DESTINATION_ID });
    destination = await startDestinationService({
      store,
      tls: { cert: server.chainPem, key: server.keyPem, ca: mesh.anchorPem },
      port: 0,
    });
    proxy = await proxyWith(
      { destination: { address: `127.0.0.1:${destination.port}`, identity: DESTINATION_ID } },
      { credentials: mesh.credentials('frontend', 'shop') },
    );
  });

  after(async () => {
    await proxy.close();
    await destination.close();
    await store.close();
    for (const a of Object.values(apps)) a.server.close();
  });

  it('applies a route timeout: 504 naming the route, while other paths wait for the answer', async () => {
    const slow = await viaProxy(proxy.ports.outbound, url('api', '/slow/report'));
    assert.equal(slow.status, 504);
    assert.match(slow.headers['l5d-proxy-error'] as string, /route api-routes.*E_REQUEST_TIMEOUT/);
    const plain = await viaProxy(proxy.ports.outbound, url('web', '/slow'));
    assert.equal(plain.status, 200);
    assert.equal(plain.body, 'web slow');
  });

  it('retries idempotent requests with small bodies on the failure classes of a retryable route', async () => {
    apps.api.failNext(1);
    const put = await viaProxy(proxy.ports.outbound, url('api', '/flaky'), {
      method: 'PUT',
      body: 'payload',
    });
    assert.equal(put.status, 200);
    assert.equal(put.body, 'api payload');
    assert.deepEqual(
      apps.api.seen.filter((r) => r.path === '/flaky').map((r) => r.body),
      ['payload', 'payload'],
    );

    apps.api.failNext(1);
    const post = await viaProxy(proxy.ports.outbound, url('api', '/flaky'), { method: 'POST', body: 'once' });
    assert.equal(post.status, 500, 'POST is not idempotent: never retried');

    apps.api.failNext(1);
    const big = 'x'.repeat(64 * 1024 + 1);
    const large = await viaProxy(proxy.ports.outbound, url('api', '/flaky'), { method: 'PUT', body: big });
    assert.equal(large.status, 500, 'bodies over 64 KiB are not kept for a retry');

    apps.web.failNext(1);
    const unrouted = await viaProxy(proxy.ports.outbound, url('web', '/flaky'), { method: 'PUT', body: 'z' });
    assert.equal(unrouted.status, 500, 'a 500 is retried only when a profile says so');
  });

  it('sends split traffic to the weighted backends once, and follows edits without dropping requests', async () => {
    const split: TrafficSplit = {
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 'web-split', namespace: 'shop' },
      spec: { service: 'web', backends: [{ service: 'v1', weight: 1 }] },
    };
    await store.create(split);
    const bodies = async (count: number) => {
      const out: string[] = [];
      for (let i = 0; i < count; i++) out.push((await viaProxy(proxy.ports.outbound, url('web', '/'))).body);
      return out;
    };
    await eventually('the split to reach the proxy', async () => (await bodies(1))[0] === 'v1');
    assert.deepEqual(await bodies(10), Array(10).fill('v1'));

    const inFlight = viaProxy(proxy.ports.outbound, url('web', '/slow'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const current = await store.get<TrafficSplit>({ ...split, namespace: 'shop', name: 'web-split' });
    await store.update({
      ...(current as TrafficSplit),
      spec: {
        service: 'web',
        backends: [
          { service: 'v1', weight: 0 },
          { service: 'v2', weight: 1 },
        ],
      },
    });
    await eventually('the edited split to reach the proxy', async () => (await bodies(1))[0] === 'v2');
    assert.deepEqual(await bodies(10), Array(10).fill('v2'));
    const finished = await inFlight;
    assert.equal(finished.status, 200);
    assert.equal(finished.body, 'v1 slow');
    assert.equal(
      apps.web.seen.filter((r) => r.path === '/').length,
      0,
      'the apex itself gets no split traffic',
    );
  });

  it('gives the apex, as one of its own backends, its share once', async () => {
    // The apex's Get merges every backend; its own share must not be split a second time.
    const current = await store.get<TrafficSplit>({
      ...Kinds.TrafficSplit,
      namespace: 'shop',
      name: 'web-split',
    });
    await store.update({
      ...(current as TrafficSplit),
      spec: {
        service: 'web',
        backends: [
          { service: 'web', weight: 1 },
          { service: 'v2', weight: 1 },
        ],
      },
    });
    const path = '/apex-share';
    await eventually('the apex to get split traffic', async () => {
      await viaProxy(proxy.ports.outbound, url('web', path));
      return apps.web.seen.some((r) => r.path === path);
    });
    const before = { web: apps.web.seen.length, v2: apps.v2.seen.length };
    for (let i = 0; i < 200; i++) await viaProxy(proxy.ports.outbound, url('web', path));
    const web = apps.web.seen.length - before.web;
    assert.equal(web + apps.v2.seen.length - before.v2, 200);
    // Even split: 100 expected (σ ≈ 7); split twice, the apex would get about 50.
    assert.ok(web >= 70 && web <= 130, `the apex served ${web} of 200`);
  });
});

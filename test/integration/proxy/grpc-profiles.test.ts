import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError, type ConnectRouter, createClient } from '@connectrpc/connect';
import { connectNodeAdapter, createGrpcTransport } from '@connectrpc/connect-node';
import {
  type DestinationServiceHandle,
  startDestinationService,
} from '../../../src/control-plane/destination/start.ts';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import type { HTTPRoute, TrafficSplit } from '../../../src/core/api/traffic.ts';
import { DestinationService } from '../../../src/gen/strait/destination/v1/destination_pb.js';
import { issueWorkloadCertificate } from '../../../src/pki/index.ts';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';
import { DestinationResolver } from '../../../src/proxy/discovery/destination.ts';
import { StaticResolver } from '../../../src/proxy/discovery/static.ts';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { createRpcClient } from '../../../src/rpc/client.ts';
import { EchoService } from './grpc-echo.ts';
import { listen, meshedEndpoint, metricValue, proxyWith, scrape, testMesh } from './helpers.ts';

const DESTINATION_ID = 'strait-destination.strait.serviceaccount.identity.strait.cluster.local';

function service(name: string, annotations: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop', annotations },
    spec: { ports: [{ name: 'grpc', port: 80 }] },
  };
}

function endpoints(name: string, port: number): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'shop' },
    subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'grpc', port }] }],
  };
}

/** An echo application answering as `name`: fails the next calls on request (UNAVAILABLE unless told), and counts calls. */
function echoApp(name: string) {
  const calls: string[] = [];
  let failuresLeft = 0;
  let failWith = Code.Unavailable;
  const routes = (router: ConnectRouter) =>
    router.service(EchoService, {
      say(request: { text: string }) {
        calls.push(`say ${request.text}`);
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new ConnectError('warming up', failWith);
        }
        return { text: `${name} ${request.text}` };
      },
      async wait(request: { text: string }) {
        calls.push(`wait ${request.text}`);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        return { text: 'waited' };
      },
      async *count(request: { text: string }) {
        calls.push(`count ${request.text}`);
        yield { text: 'one' };
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new ConnectError('lost the rest', Code.Unavailable);
        }
        yield { text: 'two' };
      },
    });
  const server = http2.createServer(
    connectNodeAdapter({ routes, grpc: true, connect: false, grpcWeb: false }),
  );
  return {
    server,
    calls,
    failNext(count: number, code = Code.Unavailable) {
      failuresLeft = count;
      failWith = code;
    },
  };
}

/**
 * A plain HTTP/2 application: `/slow` answers after 1.5 s, `/unavailable` answers
 * grpc-status 14 at once without reading the request; `paths` counts requests.
 */
function h2App() {
  const paths: string[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    paths.push(path);
    stream.on('error', () => {});
    if (path === '/unavailable') {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' },
        { endStream: true },
      );
      return;
    }
    stream.resume();
    const timer = setTimeout(() => {
      stream.respond({ ':status': 200 });
      stream.end('slow');
    }, 1_500);
    stream.once('close', () => clearTimeout(timer));
  });
  return { server, paths };
}

/** One HTTP/2 request through `port`; `finish: false` leaves the request body open. */
function h2Call(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  finish: boolean,
): Promise<{ headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request(headers);
    let response: http2.IncomingHttpHeaders = {};
    let body = '';
    stream.on('response', (h) => (response = h));
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => (body += chunk));
    // The answer may end while the request is still open: the readable end is enough.
    const done = () => {
      session.destroy();
      resolve({ headers: response, body });
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.on('error', () => {});
    if (finish) stream.end('message');
    else stream.write('part of a message');
  });
}

describe('gRPC following service profiles through two proxies over mTLS', () => {
  const mesh = testMesh();
  const echoId = mesh.identity('echo', 'shop');
  const app = echoApp('echo');
  const v2 = echoApp('v2');
  const web = h2App();
  const authority = (name: string) => `${name}.shop.svc.cluster.local:80`;
  let store: Awaited<ReturnType<typeof openLocalStore>>;
  let destination: DestinationServiceHandle;
  let server: RunningProxy;
  let client: RunningProxy;
  let clientFor: (name: string) => ReturnType<typeof createClient<typeof EchoService>>;
  // The client proxy's outbound listeners, one per target, in this order.
  const names = ['echo', 'frugal', 'plain', 'quota', 'split', 'web'];
  const listenerOf = (name: string) => client.ports.listeners[names.indexOf(name)] as number;

  before(async () => {
    const appPort = await listen(app.server as unknown as net.Server);
    store = await openLocalStore({});
    // echo: retryable with the default budget; frugal: a budget of one retry per two requests.
    await store.create(service('echo', { 'retry.strait.io/http': '5xx' }));
    await store.create(
      service('frugal', {
        'retry.strait.io/http': '5xx',
        'retry.strait.io/budget-ratio': '0.5',
        'retry.strait.io/budget-min-per-second': '0',
        'retry.strait.io/budget-ttl': '600s',
      }),
    );
    await store.create(service('plain', {}));
    // quota: retries RESOURCE_EXHAUSTED as well as UNAVAILABLE.
    await store.create(service('quota', { 'retry.strait.io/grpc': 'resource-exhausted,unavailable' }));
    for (const name of ['echo', 'frugal', 'plain', 'quota']) await store.create(endpoints(name, appPort));
    // web: a plain HTTP/2 service whose default route has a timeout and retries.
    const webPort = await listen(web.server as unknown as net.Server);
    await store.create(
      service('web', { 'retry.strait.io/http': '5xx', 'timeout.strait.io/request': '300ms' }),
    );
    await store.create(endpoints('web', webPort));
    // split: all of its traffic goes to the backend v2.
    const v2Port = await listen(v2.server as unknown as net.Server);
    for (const name of ['split', 'v2']) await store.create(service(name, {}));
    await store.create(endpoints('split', appPort));
    await store.create(endpoints('v2', v2Port));
    await store.create({
      apiVersion: 'split.smi-spec.io/v1alpha2',
      kind: 'TrafficSplit',
      metadata: { name: 'split', namespace: 'shop' },
      spec: { service: 'split', backends: [{ service: 'v2', weight: 1 }] },
    } satisfies TrafficSplit);
    await store.create({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'echo-wait', namespace: 'shop', annotations: { 'retry.strait.io/http': '5xx' } },
      spec: {
        parentRefs: [{ kind: 'Service', name: 'echo', port: 80 }],
        rules: [
          {
            matches: [{ path: { type: 'Exact', value: '/test.echo.Echo/Wait' }, method: 'POST' }],
            timeouts: { request: '300ms' },
          },
          { matches: [{ path: { type: 'PathPrefix', value: '/' } }] },
        ],
      },
    } satisfies HTTPRoute);
    const cert = issueWorkloadCertificate({ issuer: mesh.issuer, identity: DESTINATION_ID });
    destination = await startDestinationService({
      store,
      tls: { cert: cert.chainPem, key: cert.keyPem, ca: mesh.anchorPem },
      port: 0,
    });

    server = await proxyWith({}, { credentials: mesh.credentials('echo', 'shop') });
    // A meshed endpoint whose proxy is gone: connecting to it is refused.
    const gone = http2.createServer();
    const gonePort = await listen(gone as unknown as net.Server);
    await new Promise((resolve) => gone.close(resolve));
    const live = { ...meshedEndpoint(server, appPort, echoId), weight: 1 };
    const dead = { ...live, port: gonePort, opaqueTransportPort: gonePort };
    const credentials = mesh.credentials('web', 'shop');
    client = await proxyWith(
      {
        outbound: {
          host: '127.0.0.1',
          port: 0,
          listeners: names.map((name) => ({ port: 0, target: authority(name) })),
        },
        retries: { limit: 1 },
      },
      {
        credentials,
        resolver: new StaticResolver({
          [authority('echo')]: [live],
          [authority('frugal')]: [live],
          [authority('plain')]: [dead, live],
          [authority('quota')]: [live],
          [authority('split')]: [live],
          [authority('v2')]: [{ ...live, port: v2Port }],
          [authority('web')]: [{ ...live, port: webPort }],
        }),
        profiles: new DestinationResolver(
          createRpcClient(DestinationService, {
            address: `127.0.0.1:${destination.port}`,
            ca: mesh.anchorPem,
            serverIdentity: DESTINATION_ID,
            cert: credentials.material.certChain,
            key: credentials.material.key,
          }),
        ),
      },
    );
    clientFor = (name) =>
      createClient(
        EchoService,
        createGrpcTransport({
          baseUrl: `http://127.0.0.1:${listenerOf(name)}`,
        }),
      );
  });

  after(async () => {
    await client.close();
    await server.close();
    await destination.close();
    await store.close();
    app.server.close();
    v2.server.close();
    web.server.close();
  });

  const callsOf = (prefix: string) => app.calls.filter((c) => c.startsWith(prefix)).length;

  it("retries a flaky back end's UNAVAILABLE on a retryable route and answers OK", async () => {
    const echo = clientFor('echo');
    assert.equal((await echo.say({ text: 'warm' })).text, 'echo warm');
    app.failNext(1);
    const reply = await echo.say({ text: 'again' });
    assert.equal(reply.text, 'echo again');
    assert.equal(callsOf('say again'), 2, 'the first attempt failed, the retry answered');
    const text = await scrape(client.ports.admin);
    assert.equal(
      metricValue(
        text,
        'response_total',
        'authority="echo.shop.svc.cluster.local:80"',
        'classification="failure"',
      ),
      0,
      'the client saw only successes',
    );
  });

  it('retries the gRPC statuses a route names (retry.strait.io/grpc), and no others', async () => {
    const quota = clientFor('quota');
    assert.equal((await quota.say({ text: 'warm' })).text, 'echo warm');
    app.failNext(1, Code.ResourceExhausted);
    assert.equal((await quota.say({ text: 'busy' })).text, 'echo busy');
    assert.equal(callsOf('say busy'), 2, 'RESOURCE_EXHAUSTED was retried');
    app.failNext(1, Code.Internal);
    await assert.rejects(
      quota.say({ text: 'broken' }),
      (error: ConnectError) => error.code === Code.Internal,
    );
    assert.equal(callsOf('say broken'), 1, 'INTERNAL is not named: not retried');
    // echo's route retries HTTP 5xx and gRPC's default, UNAVAILABLE alone.
    app.failNext(1, Code.ResourceExhausted);
    await assert.rejects(
      clientFor('echo').say({ text: 'full' }),
      (error: ConnectError) => error.code === Code.ResourceExhausted,
    );
    assert.equal(callsOf('say full'), 1);
  });

  it('answers DEADLINE_EXCEEDED when a route timeout passes, and leaves other routes alone', async () => {
    const echo = clientFor('echo');
    await assert.rejects(echo.wait({ text: 'long' }), (error: ConnectError) => {
      assert.equal(error.code, Code.DeadlineExceeded);
      assert.match(error.rawMessage, /echo-wait.*E_REQUEST_TIMEOUT|E_REQUEST_TIMEOUT.*echo-wait/);
      return true;
    });
    const plain = clientFor('plain');
    assert.equal((await plain.wait({ text: 'unrouted' })).text, 'waited', 'no route: no timeout');
  });

  it('stops retrying when the retry budget is spent', async () => {
    const frugal = clientFor('frugal');
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      app.failNext(1);
      try {
        outcomes.push((await frugal.say({ text: `budget ${i}` })).text);
      } catch (error) {
        outcomes.push(Code[(error as ConnectError).code] ?? 'unknown');
      }
      app.failNext(0);
    }
    // Ratio 0.5 and no floor: a retry is allowed once retries stay within half the requests.
    assert.deepEqual(outcomes, ['Unavailable', 'echo budget 1', 'Unavailable', 'echo budget 3']);
    const text = await scrape(client.ports.admin);
    assert.equal(
      metricValue(
        text,
        'response_total',
        'authority="frugal.shop.svc.cluster.local:80"',
        'classification="failure"',
      ),
      2,
    );
  });

  it('never retries a streaming call once its response began', async () => {
    const echo = clientFor('echo');
    app.failNext(1);
    const received: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const message of echo.count({ text: 'stream' })) received.push(message.text);
      })(),
      (error: ConnectError) => error.code === Code.Unavailable,
    );
    assert.deepEqual(received, ['one']);
    assert.equal(callsOf('count stream'), 1);
  });

  it('retries any call that reached no server (refused connection), even on a route without retries', async () => {
    const plain = clientFor('plain');
    for (let i = 0; i < 6; i++) assert.equal((await plain.say({ text: `p${i}` })).text, `echo p${i}`);
    for (let i = 0; i < 6; i++) assert.equal(callsOf(`say p${i}`), 1, 'each call reached the app once');
  });

  it("sends a split target's calls to its backend, never to the apex's own endpoints", async () => {
    const split = clientFor('split');
    for (let i = 0; i < 5; i++) assert.equal((await split.say({ text: `s${i}` })).text, `v2 s${i}`);
    assert.equal(callsOf('say s'), 0);
    assert.equal(v2.calls.length, 5);
  });

  it('answers 504 naming the route when plain HTTP/2 passes a route timeout', async () => {
    const port = listenerOf('web');
    const res = await h2Call(
      port,
      { ':method': 'GET', ':path': '/slow', ':authority': authority('web') },
      true,
    );
    assert.equal(res.headers[':status'], 504);
    assert.match(
      String(res.headers['l5d-proxy-error']),
      /route default.*E_REQUEST_TIMEOUT|E_REQUEST_TIMEOUT.*route default/,
    );
  });

  it('retries a gRPC call only once the client has sent all of it', async () => {
    const port = listenerOf('web');
    const call = {
      ':method': 'POST',
      ':path': '/unavailable',
      ':authority': authority('web'),
      'content-type': 'application/grpc',
      te: 'trailers',
    };
    const count = () => web.paths.filter((p) => p === '/unavailable').length;
    const open = await h2Call(port, call, false);
    assert.equal(open.headers['grpc-status'], '14');
    assert.equal(count(), 1, 'a client stream still open is never retried');
    const finished = await h2Call(port, call, true);
    assert.equal(finished.headers['grpc-status'], '14');
    assert.equal(count(), 3, 'a finished one is retried once (the limit), then its answer is passed on');
  });
});

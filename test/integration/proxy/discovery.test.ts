import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import {
  DestinationService,
  type Update,
  UpdateSchema,
} from '../../../src/gen/strait/destination/v1/destination_pb.js';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { type RpcServer, startRpcServer } from '../../../src/rpc/server.ts';
import { listen, proxyWith, testMesh, viaProxy, waitFor } from './helpers.ts';

/** An app that answers with its name; `/slow` waits for `release()`. */
async function namedApp(name: string) {
  const waiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const reply = () => res.end(name);
    if (req.url === '/slow') waiting.push(reply);
    else reply();
  });
  const port = await listen(server);
  return {
    server,
    port,
    waiting,
    release: () => {
      for (const reply of waiting.splice(0)) reply();
    },
  };
}

describe('discovery through the destination service, with live updates and weights', () => {
  const mesh = testMesh();
  const backendId = mesh.identity('backend', 'shop');
  const destinationId = mesh.identity('strait-destination', 'strait');
  let destination: RpcServer;
  const streams: Array<(update: Update) => void> = [];
  const requested: string[] = [];
  let serverProxy: RunningProxy;
  let client: RunningProxy;
  let a: Awaited<ReturnType<typeof namedApp>>;
  let b: Awaited<ReturnType<typeof namedApp>>;
  const target = 'backend.shop.svc.cluster.local:8080';

  const addr = (port: number, weight: number) => ({
    addr: { ip: '127.0.0.1', port },
    weight,
    tlsIdentity: backendId,
    opaqueTransportPort: serverProxy.ports.inbound,
    metricLabels: { pod: `backend-${port}` },
  });
  const push = (update: Parameters<typeof create<typeof UpdateSchema>>[1]) => {
    for (const send of streams) send(create(UpdateSchema, update));
  };

  before(async () => {
    a = await namedApp('a');
    b = await namedApp('b');
    serverProxy = await proxyWith({}, { credentials: mesh.credentials('backend', 'shop') });
    const material = mesh.material('strait-destination', 'strait');
    destination = await startRpcServer({
      host: '127.0.0.1',
      port: 0,
      tls: { cert: material.certChain, key: material.key, ca: material.trustBundle },
      requestClientCert: true,
      register: (router) =>
        router.service(DestinationService, {
          async *get(request, context) {
            requested.push(request.path);
            const queue: Update[] = [];
            let wake: (() => void) | undefined;
            streams.push((u) => {
              queue.push(u);
              wake?.();
            });
            queue.push(
              create(UpdateSchema, {
                update: {
                  case: 'add',
                  value: {
                    addrs: [addr(a.port, 1)],
                    metricLabels: { namespace: 'shop', service: 'backend' },
                  },
                },
              }),
            );
            while (!context.signal.aborted) {
              const next = queue.shift();
              if (next) yield next;
              else await new Promise<void>((resolve) => (wake = resolve));
            }
          },
          async *getProfile() {},
        }),
    });
    client = await proxyWith(
      { destination: { address: `127.0.0.1:${destination.port}`, identity: destinationId } },
      { credentials: mesh.credentials('web', 'shop') },
    );
  });

  after(async () => {
    await client.close();
    await serverProxy.close();
    await destination.close();
    a.server.close();
    b.server.close();
  });

  it('routes by what destination says, and finishes in-flight requests when an endpoint is removed', async () => {
    const first = await viaProxy(client.ports.outbound, `http://${target}/`);
    assert.equal(first.body, 'a');
    assert.deepEqual(requested, [target]);

    const slow = viaProxy(client.ports.outbound, `http://${target}/slow`);
    await waitFor(() => a.waiting.length === 1);
    push({ update: { case: 'add', value: { addrs: [addr(b.port, 1)] } } });
    push({ update: { case: 'remove', value: { addrs: [{ ip: '127.0.0.1', port: a.port }] } } });
    await waitFor(() => streams.length > 0);
    let sawB = false;
    for (let i = 0; i < 20 && !sawB; i++) {
      sawB = (await viaProxy(client.ports.outbound, `http://${target}/`)).body === 'b';
      if (!sawB) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(sawB, 'traffic moves to the new endpoint');
    a.release();
    const finished = await slow;
    assert.equal(finished.status, 200);
    assert.equal(finished.body, 'a', 'the in-flight request finished on the removed endpoint');
    for (let i = 0; i < 5; i++)
      assert.equal((await viaProxy(client.ports.outbound, `http://${target}/`)).body, 'b');
  });

  it('splits traffic by endpoint weight', async () => {
    push({ update: { case: 'add', value: { addrs: [addr(a.port, 1), addr(b.port, 3)] } } });
    await new Promise((r) => setTimeout(r, 100));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 200; i++) {
      const res = await viaProxy(client.ports.outbound, `http://${target}/`, { agent });
      counts[res.body as 'a' | 'b']++;
    }
    agent.destroy();
    assert.ok(counts.a > 20 && counts.b > counts.a * 1.5, `a=${counts.a} b=${counts.b}`);
  });
});

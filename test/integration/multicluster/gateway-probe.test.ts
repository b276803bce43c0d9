// The service mirror's authenticated gateway probe against real gateways on
// loopback: mutual TLS with the source cluster's identity, and only an answer
// from the Link's gateway identity counts. An impostor with a certificate from
// the same trust anchor, a plain HTTP server on the probe port, and a prober
// from another trust anchor all fail.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createGateway, type Gateway } from '../../../src/multicluster/gateway/gateway.ts';
import { serviceMirrorIdentity } from '../../../src/multicluster/link/manifests.ts';
import { LinkMetrics, MirrorMetrics } from '../../../src/multicluster/service-mirror/metrics.ts';
import { issuedProbeIdentity } from '../../../src/multicluster/service-mirror/probe-identity.ts';
import { ProbeWorker } from '../../../src/multicluster/service-mirror/probe-worker.ts';
import { createAnchor, createIssuer } from '../../../src/pki/index.ts';
import { StaticResolver } from '../../../src/proxy/discovery/static.ts';
import { OutboundClient } from '../../../src/proxy/outbound/client.ts';
import type { IdentityMaterial } from '../../../src/proxy/transport/credentials.ts';
import { anchor, credentialsFor, east, GATEWAY, id, log, west } from './mesh-fixtures.ts';

const MIRROR = serviceMirrorIdentity('strait', 'cluster.local');
const westMirror = issuedProbeIdentity({
  identity: MIRROR,
  issuer: () => west,
  trustBundle: () => anchor.certPem,
});

/** Runs a probe worker until its first verdict; resolves the verdict and the worker. */
async function verdict(
  port: number,
  identity: (() => IdentityMaterial) | undefined,
  metrics = new LinkMetrics(),
): Promise<{ alive: boolean; worker: ProbeWorker; metrics: LinkMetrics }> {
  let resolve: (alive: boolean) => void = () => {};
  const first = new Promise<boolean>((r) => {
    resolve = r;
  });
  const worker = new ProbeWorker({
    config: {
      name: 'east',
      gatewayAddresses: ['127.0.0.1'],
      gatewayIdentity: GATEWAY,
      probe: { path: '/ready', port, periodMs: 50, timeoutMs: 5000, failureThreshold: 2 },
    },
    onChange: resolve,
    metrics,
    ...(identity ? { identity } : {}),
  });
  worker.start();
  const alive = await first;
  await worker.stop();
  return { alive, worker, metrics };
}

describe('authenticated gateway probe', () => {
  const gateways: Gateway[] = [];
  let gatewayProbePort = 0;
  let impostorProbePort = 0;
  let spoof: http.Server;

  async function startGateway(identity: string): Promise<number> {
    const credentials = credentialsFor(identity, east);
    const gateway = createGateway({
      credentials,
      clusterDomain: 'east.local',
      outbound: new OutboundClient({
        resolver: new StaticResolver(),
        credentials,
        log,
        fallbackDirect: false,
      }),
      log,
    });
    gateways.push(gateway);
    return (await gateway.listen({ host: '127.0.0.1', port: 0, adminPort: 0 })).adminPort;
  }

  before(async () => {
    gatewayProbePort = await startGateway(GATEWAY);
    // Same trust anchor, same issuer, another name: only the identity check tells it apart.
    impostorProbePort = await startGateway(id('impostor', 'strait-multicluster'));
    spoof = http.createServer((_req, res) => res.end('ready\n'));
    await new Promise<void>((resolve) => spoof.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    spoof.close();
  });

  it('the Link’s gateway answers the mTLS probe: alive, with its latency recorded', async () => {
    const all = new MirrorMetrics();
    const { alive, worker, metrics } = await verdict(gatewayProbePort, westMirror, all.link('east'));
    assert.equal(alive, true);
    assert.equal(worker.lastFailure, undefined);
    assert.equal(metrics.probesSucceeded >= 1, true);
    assert.equal(metrics.probesFailed, 0);
    // What `strait mc gateways` reads its latency figures from.
    assert.match(all.render(), /gateway_probe_latency_ms_count\{target_cluster_name="east"\} [1-9]/);
  });

  it('a gateway answering with another identity counts as a failure', async () => {
    const { alive, worker, metrics } = await verdict(impostorProbePort, westMirror);
    assert.equal(alive, false);
    assert.equal(metrics.probesSucceeded, 0);
    assert.equal(metrics.probesFailed >= 2, true);
    assert.match(
      worker.lastFailure ?? '',
      /answered by impostor\.strait-multicluster\.serviceaccount\.identity\.strait\.cluster\.local, not strait-gateway\./,
    );
  });

  it('a plain HTTP server on the probe port cannot pass for the gateway', async () => {
    const port = (spoof.address() as net.AddressInfo).port;
    assert.equal((await verdict(port, westMirror)).alive, false);
    // Without an identity the mirror probes plain HTTP, which anything can answer.
    assert.equal((await verdict(port, undefined)).alive, true);
  });

  it('the gateway refuses a prober whose certificate does not chain to its trust anchor', async () => {
    const foreignAnchor = createAnchor();
    const foreign = issuedProbeIdentity({
      identity: MIRROR,
      issuer: () =>
        createIssuer({ anchor: { certPem: foreignAnchor.certPem, keyPem: foreignAnchor.keyPem }, name: 'x' }),
      trustBundle: () => `${foreignAnchor.certPem}${anchor.certPem}`,
    });
    const { alive, worker } = await verdict(gatewayProbePort, foreign);
    assert.equal(alive, false);
    assert.notEqual(worker.lastFailure, undefined);
  });

  it('the probe port still serves plain /ready and /metrics', async () => {
    const ready = await fetch(`http://127.0.0.1:${gatewayProbePort}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready\n');
    const metrics = await (await fetch(`http://127.0.0.1:${gatewayProbePort}/metrics`)).text();
    assert.match(metrics, /gateway_connections_total\{outcome="forwarded"\} 0/);
    // The authenticated probes of the earlier tests, by the identity that sent them.
    assert.match(
      metrics,
      new RegExp(`gateway_probes_total\\{client_id="${MIRROR.replaceAll('.', '\\.')}"\\} [1-9]`),
    );
  });
});

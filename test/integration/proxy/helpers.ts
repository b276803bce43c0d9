// Shared pieces for the proxy's integration tests: a real trust anchor and
// issuer from src/pki, workload identities, and proxies started on port 0.
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createAnchor, createIssuer, issueWorkloadCertificate } from '../../../src/pki/index.ts';
import { applyObject, defaultProxyConfig } from '../../../src/proxy/config.ts';
import { createLogger, type Logger } from '../../../src/proxy/log.ts';
import { type RunningProxy, type StartProxyOptions, startProxy } from '../../../src/proxy/proxy.ts';
import { Credentials, type IdentityMaterial } from '../../../src/proxy/transport/credentials.ts';

/** A trust domain for tests: one anchor, one issuer, workload certificates on demand. */
export function testMesh() {
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor });
  return {
    anchorPem: anchor.certPem,
    issuer,
    identity: (sa: string, ns: string) => `${sa}.${ns}.serviceaccount.identity.strait.cluster.local`,
    material(sa: string, ns: string): IdentityMaterial {
      const leaf = issueWorkloadCertificate({ issuer, identity: this.identity(sa, ns) });
      return { certChain: leaf.chainPem, key: leaf.keyPem, trustBundle: anchor.certPem };
    },
    credentials(sa: string, ns: string): Credentials {
      return new Credentials(this.material(sa, ns));
    },
  };
}

export type TestMesh = ReturnType<typeof testMesh>;

/** A logger that keeps lines so tests can assert on what the proxy said. */
export function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = createLogger('debug', (line) => lines.push(line));
  return Object.assign(log, { lines });
}

/** Starts an in-process proxy on loopback port 0 for every listener. */
export async function proxyWith(
  overrides: Record<string, unknown>,
  options: { credentials?: Credentials; log?: Logger } & Pick<
    StartProxyOptions,
    'resolver' | 'profiles'
  > = {},
): Promise<RunningProxy> {
  const config = defaultProxyConfig();
  applyObject(
    config,
    {
      inbound: { host: '127.0.0.1', port: 0 },
      outbound: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      tap: { host: '127.0.0.1', port: 0 },
      timeouts: { drainMs: 1000 },
      ...overrides,
    },
    'test config',
  );
  return startProxy(config, {
    log: options.log ?? memoryLog(),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.resolver ? { resolver: options.resolver } : {}),
    ...(options.profiles ? { profiles: options.profiles } : {}),
  });
}

export async function listen<S extends net.Server | http.Server>(server: S): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends one request through an HTTP proxy (absolute-form) and collects the answer. */
export function viaProxy(
  proxyPort: number,
  url: string,
  options: {
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string | Buffer[];
    agent?: http.Agent;
  } = {},
): Promise<{
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: options.method ?? 'GET',
      path: url,
      headers: options.headers,
      agent: options.agent ?? false,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          trailers: res.trailers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(options.body)) {
      for (const part of options.body) req.write(part);
      req.end();
    } else req.end(options.body);
  });
}

/** Fetches a proxy's /metrics text. */
export async function scrape(adminPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  return response.text();
}

/** Reads a counter value from Prometheus text, for a series containing all `parts`. */
export function metricValue(text: string, name: string, ...parts: string[]): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (parts.every((p) => line.includes(p))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** A client proxy whose static discovery sends `authority` to a server proxy's inbound port. */
export function meshedEndpoint(
  serverProxy: RunningProxy,
  appPort: number,
  identity: string,
  extra: Record<string, unknown> = {},
) {
  return {
    address: '127.0.0.1',
    port: appPort,
    tlsIdentity: identity,
    opaqueTransportPort: serverProxy.ports.inbound,
    labels: { namespace: 'shop', service: 'web' },
    ...extra,
  };
}

/** Polls `condition` until it holds (fails the test after `timeoutMs`). */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

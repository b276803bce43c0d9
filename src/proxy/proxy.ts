import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import { createAdminServer } from './admin/server.ts';
import { RetryBudget } from './balance/retry-budget.ts';
import type { ProxyConfig } from './config.ts';
import type { ProfileSource } from './discovery/profile.ts';
import { StaticResolver } from './discovery/static.ts';
import type { Resolver } from './discovery/types.ts';
import { ProxyConfigError } from './errors.ts';
import { createInboundServer } from './inbound/server.ts';
import { createLogger, type Logger } from './log.ts';
import { ProxyMetrics } from './metrics/proxy-metrics.ts';
import { OutboundClient } from './outbound/client.ts';
import { Http1Forwarder } from './outbound/http1.ts';
import { Http2Forwarder } from './outbound/http2.ts';
import { ProfileCache } from './outbound/profiles.ts';
import { createOutboundServer, type OutboundServer } from './outbound/server.ts';
import { PolicyStore } from './policy/authorize.ts';
import { identityMatcher } from './policy/identity-match.ts';
import { isLoopbackHost, tapClientMatcher } from './tap/authorize.ts';
import { TapHub } from './tap/hub.ts';
import { createTapServer, portOf } from './tap/server.ts';
import { Credentials, type IdentityMaterial } from './transport/credentials.ts';
import { originalDestination, originalDestinationAvailable } from './transport/original-dst.ts';

/** A running proxy. */
export interface RunningProxy {
  readonly ports: { inbound: number; outbound: number; admin: number; tap: number; listeners: number[] };
  readonly metrics: ProxyMetrics;
  readonly tap: TapHub;
  readonly credentials: Credentials | undefined;
  /** Static endpoints, changeable live (when no destination service is configured). */
  readonly staticResolver: StaticResolver | undefined;
  /** Stops accepting, lets open connections finish for up to `drainMs`, then closes the rest. */
  close(): Promise<void>;
  /** Resolves when the proxy has shut down (after /shutdown or close()). */
  readonly closed: Promise<void>;
}

export interface StartProxyOptions {
  log?: Logger;
  /** Identity managed by the caller (e.g. the identity client); overrides config.identity. */
  credentials?: Credentials;
  /** Discovery to use instead of the configured one. */
  resolver?: Resolver;
  /** Service profiles to use instead of the destination service's. */
  profiles?: ProfileSource;
}

/** Starts every listener the configuration asks for. */
export async function startProxy(
  config: ProxyConfig,
  options: StartProxyOptions = {},
): Promise<RunningProxy> {
  const log = options.log ?? createLogger(config.logLevel);
  let credentials =
    options.credentials ?? (config.identity ? new Credentials(readIdentity(config.identity)) : undefined);
  const identityClient =
    !credentials && config.identityService
      ? await (await import('./identity/service-credentials.ts')).credentialsFromIdentityService(
          config.identityService,
          log,
        )
      : undefined;
  if (identityClient) credentials = identityClient.credentials;
  const metrics = new ProxyMetrics();
  const tap = new TapHub();
  // Made before anything listens: a tap that cannot be served refuses the start.
  const tapListener = tapServer(tap, config.tap, credentials);
  const abort = new AbortController();
  if (credentials) {
    const expiry = () => metrics.identityExpiry.set('', Math.floor(credentials.notAfter / 1000));
    expiry();
    credentials.on('change', expiry);
  }

  let staticResolver: StaticResolver | undefined;
  let resolver = options.resolver;
  let profileSource = options.profiles;
  // The gRPC stack is loaded only when a control plane is configured.
  const rpc = config.destination || config.policyService ? await loadRpc() : undefined;
  if (!resolver && config.destination && rpc) {
    const { DestinationResolver, createRpcClient, DestinationService } = rpc;
    const destination = new DestinationResolver(
      createRpcClient(DestinationService, {
        address: config.destination.address,
        serverIdentity: config.destination.identity,
        tlsSource: requireIdentity(credentials, 'destination').rpcClientTls,
      }),
    );
    resolver = destination;
    profileSource ??= destination;
  }
  if (!resolver) resolver = staticResolver = new StaticResolver(config.endpoints);

  const policy = new PolicyStore(
    config.policyService && rpc
      ? {
          discover: rpc.watchPolicyService(
            rpc.createRpcClient(rpc.InboundPolicyService, {
              address: config.policyService.address,
              serverIdentity: config.policyService.identity,
              tlsSource: requireIdentity(credentials, 'policy').rpcClientTls,
            }),
            config.policyService.workload,
            log,
            abort.signal,
          ),
        }
      : {},
  );
  for (const [key, value] of Object.entries(config.policy)) {
    if (key === 'default') policy.setDefault(value);
    else policy.set(Number(key), value);
  }

  const opaquePorts = new Set(config.opaquePorts);
  if (config.transparent && !originalDestinationAvailable()) {
    throw new ProxyConfigError(
      'transparent mode needs the SO_ORIGINAL_DST addon, which is not built',
      'install python3, make and a C compiler, then run `npm rebuild`',
    );
  }
  const client = new OutboundClient({
    resolver,
    credentials,
    log,
    metrics,
    connectTimeoutMs: config.timeouts.connectMs,
    discoveryTimeoutMs: config.timeouts.discoveryMs,
    fallbackDirect: config.fallbackDirect,
  });
  const budget = new RetryBudget(config.retries);
  const profiles = profileSource
    ? new ProfileCache({ source: profileSource, log, defaultBudget: budget })
    : undefined;
  const http1 = new Http1Forwarder({
    client,
    tap,
    requestTimeoutMs: config.timeouts.requestMs,
    retryLimit: config.retries.limit,
    budget,
    upgradeMeshed: config.http1OverH2,
    ...(profiles ? { profiles } : {}),
  });
  const h2 = new Http2Forwarder({
    client,
    tap,
    retryLimit: config.retries.limit,
    budget,
    ...(profiles ? { profiles } : {}),
  });

  const servers: Array<net.Server | http.Server> = [];
  const sockets = new Set<net.Socket>();
  const listen = async <S extends net.Server | http.Server>(
    server: S,
    address: { host: string; port: number },
    what: string,
  ): Promise<number> => {
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new ProxyConfigError(`${what} cannot listen on ${address.host}:${address.port}: ${error.message}`),
        ),
      );
      server.listen(address.port, address.host, () => resolve());
    });
    servers.push(server);
    return portOf(server);
  };

  const outbounds: OutboundServer[] = [];
  const outbound = (server: OutboundServer) => {
    outbounds.push(server);
    return server.server;
  };
  const outboundPort = await listen(
    outbound(
      createOutboundServer({
        client,
        http1,
        http2: h2,
        opaquePorts,
        detectTimeoutMs: config.timeouts.detectMs,
        idleTimeoutMs: config.timeouts.idleMs,
        ...(config.transparent ? { target: (socket: net.Socket) => redirectedAuthority(socket, log) } : {}),
      }),
    ),
    config.outbound,
    'outbound',
  );
  const listenerPorts: number[] = [];
  for (const listener of config.outbound.listeners) {
    const server = createOutboundServer({
      client,
      http1,
      http2: h2,
      opaquePorts,
      detectTimeoutMs: config.timeouts.detectMs,
      idleTimeoutMs: config.timeouts.idleMs,
      target: () => listener.target,
    });
    listenerPorts.push(await listen(outbound(server), listener, `listener for ${listener.target}`));
  }
  const inboundPort = await listen(
    createInboundServer({
      credentials,
      policy,
      isTrustedForwarder: identityMatcher(config.trustedForwarders),
      log,
      metrics,
      tap,
      appHost: config.inbound.appHost,
      ...(config.transparent
        ? { targetPort: (socket: net.Socket) => redirected(socket, log)?.port ?? config.inbound.appPort }
        : config.inbound.appPort
          ? { targetPort: config.inbound.appPort }
          : {}),
      opaquePorts,
      handshakeTimeoutMs: config.timeouts.handshakeMs,
      connectTimeoutMs: config.timeouts.connectMs,
      idleTimeoutMs: config.timeouts.idleMs,
      perRequest: config.inbound.perRequest,
    }),
    config.inbound,
    'inbound',
  );

  let closing: Promise<void> | undefined;
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const close = () => {
    closing ??= (async () => {
      log.info('draining', { openConnections: sockets.size, drainMs: config.timeouts.drainMs });
      abort.abort();
      const stopped = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const o of outbounds) o.drain();
      const deadline = Date.now() + config.timeouts.drainMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const socket of sockets) socket.destroy();
      http1.close();
      h2.close();
      client.close();
      profiles?.close();
      identityClient?.close();
      await Promise.all(stopped);
      log.info('stopped');
      resolveClosed();
    })();
    return closing;
  };

  const adminPort = await listen(
    createAdminServer({
      ready: () => closing === undefined,
      metrics: () => metrics.registry.render(),
      shutdown: () => void close(),
    }),
    config.admin,
    'admin',
  );
  const tapPort = await listen(tapListener, config.tap, 'tap');

  log.info('proxy started', {
    identity: credentials?.identity,
    inbound: `${config.inbound.host}:${inboundPort}`,
    outbound: `${config.outbound.host}:${outboundPort}`,
    admin: `${config.admin.host}:${adminPort}`,
    tap: `${config.tap.host}:${tapPort}`,
  });
  return {
    ports: {
      inbound: inboundPort,
      outbound: outboundPort,
      admin: adminPort,
      tap: tapPort,
      listeners: listenerPorts,
    },
    metrics,
    tap,
    credentials,
    staticResolver,
    close,
    closed,
  };
}

/** The tap server: plaintext on loopback, else mTLS admitting only `tap.clients`. */
function tapServer(hub: TapHub, settings: ProxyConfig['tap'], credentials: Credentials | undefined) {
  if (isLoopbackHost(settings.host)) return createTapServer(hub);
  if (!credentials) {
    throw new ProxyConfigError(
      `tap on ${settings.host} needs mTLS, and the proxy has no identity`,
      'bind the tap to 127.0.0.1, or configure an identity',
    );
  }
  return createTapServer(hub, { credentials, isAllowed: tapClientMatcher(settings.clients) });
}

/** The original destination of a redirected connection; undefined when it was addressed to us directly. */
function redirected(socket: net.Socket, log: Logger): { address: string; port: number } | undefined {
  try {
    const destination = originalDestination(socket);
    const direct = destination.address === socket.localAddress && destination.port === socket.localPort;
    return direct ? undefined : destination;
  } catch (error) {
    log.debug('no original destination', { error: (error as Error).message });
    return undefined;
  }
}

function redirectedAuthority(socket: net.Socket, log: Logger): string | undefined {
  const destination = redirected(socket, log);
  if (!destination) return undefined;
  const host = destination.address.includes(':') ? `[${destination.address}]` : destination.address;
  return `${host}:${destination.port}`;
}

function readIdentity(files: {
  certFile: string;
  keyFile: string;
  trustBundleFile: string;
}): IdentityMaterial {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new ProxyConfigError(`cannot read the ${what} ${file}: ${(error as Error).message}`);
    }
  };
  return {
    certChain: read(files.certFile, 'certificate chain'),
    key: read(files.keyFile, 'private key'),
    trustBundle: read(files.trustBundleFile, 'trust bundle'),
  };
}

function requireIdentity(credentials: Credentials | undefined, what: string): Credentials {
  if (!credentials)
    throw new ProxyConfigError(`the ${what} service needs an identity`, 'configure identity files');
  return credentials;
}

async function loadRpc() {
  const [
    { DestinationService },
    { InboundPolicyService },
    { createRpcClient },
    { DestinationResolver },
    { watchPolicyService },
  ] = await Promise.all([
    import('../gen/strait/destination/v1/destination_pb.js'),
    import('../gen/strait/policy/v1/policy_pb.js'),
    import('../rpc/client.ts'),
    import('./discovery/destination.ts'),
    import('./policy/watch.ts'),
  ]);
  return {
    DestinationService,
    InboundPolicyService,
    createRpcClient,
    DestinationResolver,
    watchPolicyService,
  };
}

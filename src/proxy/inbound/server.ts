import net from 'node:net';
import type { Duplex } from 'node:stream';
import { describeError } from '../../core/errors.ts';
import type { Logger } from '../log.ts';
import { inboundLabels, type ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { authorize, type PolicyStore } from '../policy/authorize.ts';
import type { TapHub } from '../tap/hub.ts';
import { connectPlain } from '../transport/connect.ts';
import type { Credentials } from '../transport/credentials.ts';
import { detectProtocol } from '../transport/detect.ts';
import { relay } from '../transport/relay.ts';
import type { InboundCaller } from './client-id.ts';
import { createDowngrader } from './downgrade.ts';
import { createHttp1Inbound } from './http1-requests.ts';
import { createHttp2Inbound } from './http2-requests.ts';
import { InboundRecorder } from './record.ts';
import { createRefuser } from './refuse.ts';
import { type AcceptedConnection, createInboundTerminator, type InboundTerminator } from './terminator.ts';

export interface InboundServerOptions {
  credentials: Credentials | undefined;
  policy: PolicyStore;
  isTrustedForwarder: (identity: string | undefined) => boolean;
  log: Logger;
  metrics?: ProxyMetrics;
  tap?: TapHub;
  /** Address of the local application. */
  appHost: string;
  /**
   * Port of the application for connections that do not name one (plaintext
   * clients, TLS without a header). A function receives the socket, e.g. to
   * read its original destination.
   */
  targetPort?: number | ((socket: net.Socket) => number | undefined);
  /** Ports whose plaintext clients are forwarded without waiting for their first bytes. */
  opaquePorts?: ReadonlySet<number>;
  handshakeTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Close connections idle (no bytes either way) this long; 0: never. */
  idleTimeoutMs?: number;
  /**
   * Serve meshed HTTP/1.1 and HTTP/2 connections request by request (metrics,
   * tap, `strait-client-id`) instead of relaying their bytes. Default true.
   */
  perRequest?: boolean;
}

interface InboundHandlers {
  terminator: InboundTerminator;
  downgrader: ReturnType<typeof createDowngrader>;
  refuser: ReturnType<typeof createRefuser>;
  http1: ReturnType<typeof createHttp1Inbound> | undefined;
  http2: ReturnType<typeof createHttp2Inbound> | undefined;
}

/**
 * The inbound side: terminates mTLS from peer proxies (or accepts plaintext
 * from unmeshed clients), applies the port's policy and forwards to the local
 * application at the port the transport header names.
 */
export function createInboundServer(options: InboundServerOptions): net.Server {
  const terminator = createInboundTerminator({
    credentials: options.credentials,
    isTrustedForwarder: options.isTrustedForwarder,
    log: options.log,
    ...(options.handshakeTimeoutMs ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
  });
  const recorder = new InboundRecorder({
    appHost: options.appHost,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.tap ? { tap: options.tap } : {}),
  });
  const downgrader = createDowngrader({ appHost: options.appHost, log: options.log, recorder });
  const refuser = createRefuser();
  const perRequest = options.perRequest ?? true;
  const forwarding = {
    appHost: options.appHost,
    log: options.log,
    recorder,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
  };
  const handlers: InboundHandlers = {
    terminator,
    downgrader,
    refuser,
    http1: perRequest
      ? createHttp1Inbound({ ...forwarding, idleTimeoutMs: options.idleTimeoutMs ?? 0 })
      : undefined,
    http2: perRequest ? createHttp2Inbound(forwarding) : undefined,
  };
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => {});
    void accept(socket, handlers, options).catch((error) => {
      options.log.info('inbound connection refused', {
        client: socket.remoteAddress,
        error: describeError(error),
      });
      socket.destroy();
    });
  });
  return server;
}

async function accept(
  socket: net.Socket,
  handlers: InboundHandlers,
  options: InboundServerOptions,
): Promise<void> {
  const { terminator, refuser } = handlers;
  const defaultPort =
    typeof options.targetPort === 'function' ? options.targetPort(socket) : options.targetPort;
  let accepted: AcceptedConnection;
  if (defaultPort !== undefined && options.opaquePorts?.has(defaultPort)) {
    accepted = {
      stream: socket,
      tls: false,
      peerIdentity: undefined,
      clientIdentity: undefined,
      header: undefined,
      passthroughSni: undefined,
    };
  } else {
    accepted = await terminator.accept(socket);
  }
  const header = accepted.header;
  if (header?.name) {
    accepted.stream.destroy();
    throw new Error(
      `peer ${accepted.peerIdentity} asked for ${header.name}:${header.port}; only a gateway forwards by name`,
    );
  }
  const port = header?.port ?? defaultPort;
  if (port === undefined) {
    accepted.stream.destroy();
    throw new Error('no target port: no transport header and no default application port');
  }
  const policy = await options.policy.get(port);
  const admitted = authorize(policy, {
    identity: accepted.clientIdentity,
    address: socket.remoteAddress ?? '',
  });
  const labels = inboundLabels(accepted.clientIdentity, accepted.tls, {
    srv_name: policy.name,
    target_port: String(port),
  });
  if (!admitted) {
    const reason = `policy ${policy.name} on port ${port} refuses ${accepted.clientIdentity ?? 'an unauthenticated client'} from ${socket.remoteAddress}`;
    if (!header || !refuser.canRefuse(header.protocol)) {
      accepted.stream.destroy();
      throw new Error(reason);
    }
    options.log.info('inbound requests refused by policy', { client: socket.remoteAddress, reason });
    refuser.serve(accepted.stream, header.protocol, {
      reason,
      onRequest: (request) => {
        options.metrics?.requestTotal.inc(labels);
        options.metrics?.responseTotal.inc(
          `${labels},status_code="${request.status}",classification="failure"`,
        );
        if (options.tap?.active) {
          options.tap.publish({
            direction: 'inbound',
            ...request,
            latencyMs: 0,
            clientId: accepted.clientIdentity ?? '',
            serverId: options.credentials?.identity ?? '',
            source: socket.remoteAddress ?? '',
            destination: `${options.appHost}:${port}`,
            startedAtMs: Date.now(),
            error: reason,
          });
        }
      },
    });
    return;
  }
  const caller: InboundCaller = {
    port,
    labels,
    clientId: accepted.clientIdentity ?? '',
    serverId: options.credentials?.identity ?? '',
    source: socket.remoteAddress ?? '',
  };
  const perRequest = await requestServer(accepted, port, handlers, options);
  if (perRequest) {
    let failed = false;
    options.metrics?.trackConnection(`${labels},peer="src"`, socket, () => (failed ? 'failure' : 'success'));
    accepted.stream.once('error', () => {
      failed = true;
    });
    perRequest.serve(accepted.stream, caller);
    return;
  }
  let upstream: net.Socket;
  try {
    upstream = await connectPlain(options.appHost, port, options.connectTimeoutMs ?? 1000);
  } catch (error) {
    accepted.stream.destroy();
    throw error;
  }
  let failed = false;
  options.metrics?.trackConnection(`${labels},peer="src"`, socket, () => (failed ? 'failure' : 'success'));
  relay(
    accepted.stream,
    upstream,
    (error) => {
      if (error) failed = true;
    },
    options.idleTimeoutMs,
  );
}

/** The server that takes this connection request by request, or undefined to relay its bytes. */
async function requestServer(
  accepted: AcceptedConnection,
  port: number,
  handlers: InboundHandlers,
  options: InboundServerOptions,
): Promise<{ serve(connection: Duplex, caller: InboundCaller): void } | undefined> {
  const protocol = accepted.header?.protocol;
  if (protocol === 'http1Upgraded') return handlers.downgrader;
  if (!handlers.http1 || !handlers.http2) return undefined;
  if (accepted.tls) {
    return protocol === 'http1' ? handlers.http1 : protocol === 'http2' ? handlers.http2 : undefined;
  }
  // Plaintext HTTP from an unmeshed client is served request by request too, so that a
  // strait-client-id it sends never reaches the application. A client that has not
  // spoken (server-speaks-first) and TLS for another name are relayed.
  const stream = accepted.stream as net.Socket;
  if (
    accepted.passthroughSni !== undefined ||
    options.opaquePorts?.has(port) ||
    stream.readableLength === 0
  ) {
    return undefined;
  }
  const detected = await detectProtocol(stream, options.handshakeTimeoutMs ?? 10_000);
  return detected === 'http1' ? handlers.http1 : detected === 'http2' ? handlers.http2 : undefined;
}

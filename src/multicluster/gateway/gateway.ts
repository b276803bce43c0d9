import net from 'node:net';
import { describeError } from '../../core/errors.ts';
import { createAdminServer } from '../../proxy/admin/server.ts';
import { createInboundTerminator } from '../../proxy/inbound/terminator.ts';
import type { Logger } from '../../proxy/log.ts';
import type { OutboundClient } from '../../proxy/outbound/client.ts';
import type { Credentials } from '../../proxy/transport/credentials.ts';
import { relay } from '../../proxy/transport/relay.ts';
import { type GatewayAuthorization, gatewayAuthorization } from './authorization.ts';
import { createProbeServer } from './probe-server.ts';
import { GatewayRefusedError, gatewayTarget } from './target.ts';

export interface GatewayOptions {
  /** The gateway's own workload identity; callers must expect it. */
  credentials: Credentials;
  /** This cluster's domain: only `*.svc.<domain>` targets are served. */
  clusterDomain: string;
  /**
   * Resolves targets through this cluster's destination service and connects
   * to the backends' proxies over mTLS. Build it with `fallbackDirect: false`.
   */
  outbound: OutboundClient;
  authorization?: GatewayAuthorization;
  log: Logger;
  handshakeTimeoutMs?: number;
}

export interface GatewayListenOptions {
  host?: string;
  /** Data port; default 4143. */
  port?: number;
  /** Probe and admin port: plain /ready /live /metrics, and the mTLS probe (see probe-server.ts); default 4191. */
  adminPort?: number;
}

/** Counts of what the gateway did, by outcome. */
export interface GatewayCounters {
  forwarded: number;
  refused: Record<string, number>;
  /** Authenticated probe requests, by the prober's identity. */
  probes: Record<string, number>;
}

/** A multi-cluster gateway: mTLS in, authorization, target check, mTLS out. */
export interface Gateway {
  readonly counters: GatewayCounters;
  listen(options?: GatewayListenOptions): Promise<{ port: number; adminPort: number }>;
  close(): Promise<void>;
}

/**
 * Creates a gateway. Each connection must be mutual TLS from a client whose
 * certificate chains to the trust bundle, must carry a transport header
 * naming a service of this cluster, and must pass the authorization; the
 * gateway then connects to the target's proxy and forwards the bytes, with the
 * caller's verified identity in the header so the backend's policy sees who
 * really called. HTTP/1.1, HTTP/2, gRPC and opaque TCP cross it alike.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { credentials, log, outbound } = options;
  const authorization = options.authorization ?? gatewayAuthorization();
  const terminator = createInboundTerminator({
    credentials,
    // A caller cannot speak for someone else: forwarded identities are never taken from callers.
    isTrustedForwarder: () => false,
    log,
    ...(options.handshakeTimeoutMs ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
  });
  const counters: GatewayCounters = { forwarded: 0, refused: {}, probes: {} };
  const sockets = new Set<net.Socket>();
  let ready = false;

  const refuse = (
    socket: net.Socket | { destroy(): void },
    code: string,
    reason: string,
    fields: Record<string, unknown>,
  ) => {
    counters.refused[code] = (counters.refused[code] ?? 0) + 1;
    log.warn(`gateway refused a connection: ${reason}`, { code, ...fields });
    socket.destroy();
  };

  const handle = async (socket: net.Socket): Promise<void> => {
    const from = `${socket.remoteAddress}:${socket.remotePort}`;
    let accepted: Awaited<ReturnType<typeof terminator.accept>>;
    try {
      accepted = await terminator.accept(socket);
    } catch (error) {
      refuse(
        socket,
        (error as { code?: string }).code ?? 'E_TLS',
        'connections to the gateway must be mutually authenticated',
        {
          from,
          error: describeError(error),
        },
      );
      return;
    }
    const stream = accepted.stream;
    const caller = accepted.peerIdentity;
    if (!accepted.tls || !caller) {
      refuse(stream, 'E_NOT_MTLS', 'connections to the gateway must be mutually authenticated', { from });
      return;
    }
    if (!accepted.header) {
      refuse(stream, 'E_NO_HEADER', 'the caller sent no transport header', { from, caller });
      return;
    }
    const denied = authorization.check(caller, socket.remoteAddress);
    if (denied) {
      refuse(stream, 'E_UNAUTHORIZED', denied, { from, caller });
      return;
    }
    if (caller === credentials.identity) {
      refuse(stream, 'E_LOOP', 'the caller is this gateway', { from, caller });
      return;
    }
    let authority: string;
    try {
      authority = gatewayTarget(accepted.header.name, accepted.header.port, options.clusterDomain);
    } catch (error) {
      refuse(stream, (error as GatewayRefusedError).code, (error as Error).message, { from, caller });
      return;
    }
    try {
      const endpoint = await outbound.pick(authority);
      if (endpoint.endpoint.authorityOverride) {
        throw new GatewayRefusedError(`target ${authority} is itself behind a gateway (a loop)`);
      }
      const upstream = await outbound.connectTo(endpoint, accepted.header.protocol, {
        authority,
        clientIdentity: caller,
      });
      endpoint.breaker.success();
      counters.forwarded++;
      log.debug('gateway forwarding', { from, caller, authority });
      relay(stream, upstream);
    } catch (error) {
      const code = error instanceof GatewayRefusedError ? error.code : 'E_UNKNOWN_TARGET';
      refuse(stream, code, `cannot forward to ${authority}: ${describeError(error)}`, { from, caller });
    }
  };

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    void handle(socket);
  });
  const admin = createAdminServer({
    ready: () => ready,
    metrics: () => renderMetrics(counters),
    shutdown: () => void close(),
  });
  const probe = createProbeServer({
    credentials,
    admin,
    ready: () => ready,
    onProbe: (client) => {
      counters.probes[client] = (counters.probes[client] ?? 0) + 1;
    },
    ...(options.handshakeTimeoutMs ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
  });

  const listenOn = (target: net.Server, host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      target.once('error', reject);
      target.listen(port, host, () => {
        target.off('error', reject);
        resolve((target.address() as net.AddressInfo).port);
      });
    });

  async function close(): Promise<void> {
    ready = false;
    for (const socket of sockets) socket.destroy();
    admin.closeAllConnections();
    await Promise.all([
      new Promise((resolve) => server.close(resolve)),
      new Promise((resolve) => probe.close(resolve)),
    ]);
    admin.close();
  }

  return {
    counters,
    async listen(listen = {}) {
      const host = listen.host ?? '0.0.0.0';
      const port = await listenOn(server, host, listen.port ?? 4143);
      const adminPort = await listenOn(probe, host, listen.adminPort ?? 4191);
      ready = true;
      log.info('gateway listening', { host, port, adminPort, identity: credentials.identity });
      return { port, adminPort };
    },
    close,
  };
}

function renderMetrics(counters: GatewayCounters): string {
  const lines = [
    '# HELP gateway_connections_total Connections the gateway forwarded or refused.',
    '# TYPE gateway_connections_total counter',
    `gateway_connections_total{outcome="forwarded"} ${counters.forwarded}`,
  ];
  for (const [code, count] of Object.entries(counters.refused)) {
    lines.push(`gateway_connections_total{outcome="refused",reason="${code}"} ${count}`);
  }
  lines.push(
    '# HELP gateway_probes_total Probe requests over mutual TLS, by the prober’s identity.',
    '# TYPE gateway_probes_total counter',
  );
  for (const [client, count] of Object.entries(counters.probes)) {
    lines.push(`gateway_probes_total{client_id="${client}"} ${count}`);
  }
  return `${lines.join('\n')}\n`;
}

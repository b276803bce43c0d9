import net from 'node:net';
import tls from 'node:tls';
import type { Endpoint } from '../discovery/types.ts';
import { ProxyError } from '../errors.ts';
import type { Credentials } from './credentials.ts';
import { dnsSan } from './credentials.ts';
import { encodeTransportHeader, type SessionProtocol, TRANSPORT_ALPN } from './header.ts';
import { withReusedBuffer } from './reused-buffer.ts';

export interface ConnectOptions {
  credentials: Credentials | undefined;
  /** Session protocol announced in the transport header. */
  protocol: SessionProtocol;
  connectTimeoutMs: number;
  /** Caller identity to forward in the header (gateways only; peers honour it from trusted forwarders). */
  clientIdentity?: string;
}

/**
 * Opens a connection to one endpoint. A meshed endpoint (tlsIdentity set) gets
 * mTLS to ip:opaqueTransportPort, a server-identity check, and a transport
 * header naming the real target; any other endpoint gets plain TCP.
 */
export function connectEndpoint(endpoint: Endpoint, options: ConnectOptions): Promise<net.Socket> {
  // Opaque connections are only ever relayed, and HTTP/1.1 ones are read by our own response
  // reader (or relayed after an upgrade): both read into a reused buffer. HTTP/2 sessions are not.
  const reuseBuffer = options.protocol === 'opaque' || options.protocol === 'http1';
  if (!endpoint.tlsIdentity) {
    return connectPlain(endpoint.address, endpoint.port, options.connectTimeoutMs, { reuseBuffer });
  }
  if (!options.credentials) {
    return Promise.reject(
      new ProxyError(
        'E_NO_IDENTITY',
        `endpoint ${endpoint.address}:${endpoint.port} is meshed but this proxy has no identity`,
      ),
    );
  }
  const port = endpoint.opaqueTransportPort || endpoint.port;
  const header = endpoint.opaqueTransportPort
    ? headerFor(endpoint, options.protocol, options.clientIdentity)
    : undefined;
  return connectMeshed({
    host: endpoint.address,
    port,
    identity: endpoint.tlsIdentity,
    credentials: options.credentials,
    header,
    connectTimeoutMs: options.connectTimeoutMs,
    reuseBuffer,
  });
}

function headerFor(
  endpoint: Endpoint,
  protocol: SessionProtocol,
  clientIdentity: string | undefined,
): Buffer {
  const forwarded = clientIdentity ? { clientIdentity } : {};
  if (endpoint.authorityOverride) {
    const { host, port } = splitAuthority(endpoint.authorityOverride, endpoint.port);
    return encodeTransportHeader({ name: host, port, protocol, ...forwarded });
  }
  return encodeTransportHeader({ name: '', port: endpoint.port, protocol, ...forwarded });
}

/** Splits "host:port" (or "[v6]:port"); `defaultPort` when there is none. */
export function splitAuthority(authority: string, defaultPort: number): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(authority);
  if (!match) throw new ProxyError('E_AUTHORITY', `"${authority}" is not host[:port]`);
  const host = (match[1] as string).replace(/^\[|\]$/g, '');
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!(port >= 1 && port <= 65535)) throw new ProxyError('E_AUTHORITY', `"${authority}" has a bad port`);
  return { host, port };
}

/**
 * Plain TCP with a connect timeout. By default the socket reads into a reused
 * buffer (see reused-buffer.ts), which `relay` uses without a copy; pass
 * `reuseBuffer: false` for a socket read by anything else, such as an HTTP client.
 */
export function connectPlain(
  host: string,
  port: number,
  timeoutMs: number,
  options: { reuseBuffer?: boolean } = {},
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socketOptions = { host, port, allowHalfOpen: true, noDelay: true };
    const socket =
      options.reuseBuffer === false
        ? net.connect(socketOptions)
        : withReusedBuffer((onread) => net.connect({ ...socketOptions, onread }));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ProxyError('E_CONNECT_TIMEOUT', `connect to ${host}:${port} timed out after ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(
        new ProxyError('E_CONNECT', `connect to ${host}:${port}: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    };
    socket.once('error', onError);
  });
}

export interface MeshedConnectOptions {
  host: string;
  port: number;
  /** Identity the server must present. */
  identity: string;
  credentials: Credentials;
  /** Encoded transport header to send first; when absent, ALPN does not offer it. */
  header: Buffer | undefined;
  connectTimeoutMs: number;
  /** Read into a reused buffer (for connections that are only relayed). */
  reuseBuffer?: boolean;
}

/** mTLS 1.3 to a peer proxy or gateway, checking its identity, then sending the header. */
export function connectMeshed(options: MeshedConnectOptions): Promise<tls.TLSSocket> {
  const where = `${options.host}:${options.port}`;
  return new Promise((resolve, reject) => {
    // `onread` is passed on to the socket by tls.connect, though @types/node does not list it.
    const connectOptions: tls.ConnectionOptions & { allowHalfOpen: boolean; onread?: net.OnReadOpts } = {
      host: options.host,
      port: options.port,
      servername: options.identity,
      secureContext: options.credentials.context,
      minVersion: 'TLSv1.3',
      ALPNProtocols: options.header ? [TRANSPORT_ALPN] : [],
      allowHalfOpen: true,
      checkServerIdentity: (_name, cert) => {
        const presented = dnsSan(cert.subjectaltname);
        if (presented === options.identity) return undefined;
        return new ProxyError(
          'E_PEER_IDENTITY',
          `${where} presented identity ${presented ?? '(none)'}, expected ${options.identity}`,
        );
      },
    };
    const socket = options.reuseBuffer
      ? withReusedBuffer((onread) => {
          connectOptions.onread = onread;
          return tls.connect(connectOptions);
        })
      : tls.connect(connectOptions);
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ProxyError(
          'E_CONNECT_TIMEOUT',
          `mTLS connect to ${where} timed out after ${options.connectTimeoutMs} ms`,
        ),
      );
    }, options.connectTimeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      if (options.header) {
        if (socket.alpnProtocol !== TRANSPORT_ALPN) {
          socket.destroy();
          reject(
            new ProxyError(
              'E_PEER_ALPN',
              `${where} does not accept the transport header (ALPN ${socket.alpnProtocol})`,
            ),
          );
          return;
        }
        // Hand the socket over only once the header is flushed: node:http2 takes over
        // the native handle and must not find a write of ours in progress.
        socket.write(options.header, (error) => (error ? reject(error) : resolve(socket)));
        return;
      }
      resolve(socket);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(
        error instanceof ProxyError
          ? error
          : new ProxyError('E_CONNECT', `mTLS connect to ${where}: ${error.message}`, { cause: error }),
      );
    };
    socket.once('error', onError);
  });
}

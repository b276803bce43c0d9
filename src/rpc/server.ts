import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { DescService } from '@bufbuild/protobuf';
import {
  type ConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type ServiceImpl,
} from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';

export interface TlsMaterial {
  /** PEM: the server's (or client's) certificate followed by its intermediates. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** PEM trust bundle used to verify the peer. */
  ca?: string;
}

export interface RpcServerOptions {
  host: string;
  port: number;
  tls: TlsMaterial;
  /** Ask clients for certificates (verified against `tls.ca`); unauthenticated clients are still served. */
  requestClientCert?: boolean;
  register: (router: ConnectRouter) => void;
}

export interface RpcServer {
  readonly port: number;
  readonly server: http2.Http2SecureServer;
  /** Replaces the serving certificate without dropping connections. */
  setTls(tls: TlsMaterial): void;
  close(): Promise<void>;
}

/**
 * Serves gRPC (over HTTP/2 with TLS) for the given services. Any gRPC client,
 * not only ours, can call it.
 */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const handler = connectNodeAdapter({
    routes: options.register,
    contextValues: (request) => {
      const values = createContextValues();
      const socket = request.socket as TLSSocket | undefined;
      values.set(peerIdentityKey, socket ? identityOfSocket(socket) : undefined);
      values.set(
        peerAddressKey,
        socket?.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : undefined,
      );
      return values;
    },
    grpc: true,
    grpcWeb: false,
    connect: false,
  });
  const server = http2.createSecureServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      ...(options.tls.ca ? { ca: options.tls.ca } : {}),
      requestCert: options.requestClientCert ?? false,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      allowHTTP1: false,
    },
    handler,
  );
  // A session that breaks mid-frame must not take the process down.
  server.on('sessionError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    setTls(tls) {
      server.setSecureContext({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.close();
        setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, 1000).unref();
      });
    },
  };
}

/**
 * The verified identity of the caller (the DNS SAN of its client certificate),
 * or undefined when it presented none or one that does not chain to the bundle.
 */
export function peerIdentity(context: HandlerContext): string | undefined {
  return context.values.get(peerIdentityKey);
}

/** The caller's `address:port`, for messages that must name who asked. */
export function peerAddress(context: HandlerContext): string | undefined {
  return context.values.get(peerAddressKey);
}

const peerIdentityKey = createContextKey<string | undefined>(undefined, { description: 'peer identity' });
const peerAddressKey = createContextKey<string | undefined>(undefined, { description: 'peer address' });

export function identityOfSocket(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const san = socket.getPeerCertificate()?.subjectaltname;
  const dns = san
    ?.split(', ')
    .find((entry) => entry.startsWith('DNS:'))
    ?.slice(4);
  return dns;
}

export type { ConnectRouter, DescService, ServiceImpl };

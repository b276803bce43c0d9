import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ProxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { readClientHelloSni } from '../transport/client-hello.ts';
import { type Credentials, peerIdentity } from '../transport/credentials.ts';
import { parseTransportHeader, TRANSPORT_ALPN, type TransportHeader } from '../transport/header.ts';
import { readPrefix } from '../transport/read-prefix.ts';

export interface TerminatorOptions {
  credentials: Credentials | undefined;
  /** Whether a TLS peer may forward another client's identity in the header. */
  isTrustedForwarder: (identity: string | undefined) => boolean;
  log: Logger;
  /** Time allowed for the first bytes, the handshake and the header together. */
  handshakeTimeoutMs?: number;
}

/** A connection after mTLS termination and the transport header, ready to forward. */
export interface AcceptedConnection {
  /** Decrypted stream (or the raw socket for plaintext and pass-through TLS). */
  stream: Duplex;
  /** True when we terminated mTLS from a peer that chains to our trust bundle. */
  tls: boolean;
  /** Identity of the TLS peer (a proxy or gateway). */
  peerIdentity: string | undefined;
  /** Identity of the caller: the forwarded one from a trusted forwarder, else the peer's. */
  clientIdentity: string | undefined;
  /** The transport header, when the peer sent one. */
  header: TransportHeader | undefined;
  /** SNI of TLS that was not for us and is passed through untouched. */
  passthroughSni: string | undefined;
}

/** Accepts inbound connections; one per listener, reused for every connection. */
export interface InboundTerminator {
  /**
   * TLS whose SNI is our identity is terminated with a required client
   * certificate (verified against the trust bundle); a peer offering the
   * transport ALPN then sends the header. Plaintext and TLS for other names
   * pass through. Rejects with a ProxyError saying why.
   */
  accept(socket: net.Socket): Promise<AcceptedConnection>;
}

export function createInboundTerminator(options: TerminatorOptions): InboundTerminator {
  const timeoutMs = options.handshakeTimeoutMs ?? 10_000;
  const credentials = options.credentials;
  const pending = new Map<string, { resolve: (s: tls.TLSSocket) => void; reject: (e: Error) => void }>();
  const keyOf = (s: net.Socket) => `${s.remoteAddress}|${s.remotePort}|${s.localPort}`;
  let server: tls.Server | undefined;
  if (credentials) {
    const contextOptions = () => ({
      cert: credentials.material.certChain,
      key: credentials.material.key,
      ca: credentials.material.trustBundle,
    });
    // Through a tls.Server so that Node verifies the client chain and sets `authorized`.
    const tlsServer = tls.createServer({
      ...contextOptions(),
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: timeoutMs,
      ALPNProtocols: [TRANSPORT_ALPN, 'h2', 'http/1.1'],
    });
    credentials.on('change', () => tlsServer.setSecureContext(contextOptions()));
    tlsServer.on('secureConnection', (secure) => {
      const waiter = pending.get(keyOf(secure));
      if (!waiter) {
        secure.destroy();
        return;
      }
      pending.delete(keyOf(secure));
      if (!secure.authorized) {
        secure.destroy();
        waiter.reject(
          new ProxyError(
            'E_TLS_CLIENT_CERT',
            `client certificate rejected: ${secure.authorizationError ?? 'none presented'}`,
          ),
        );
        return;
      }
      waiter.resolve(secure);
    });
    tlsServer.on('tlsClientError', (error, secure) => {
      const waiter = pending.get(keyOf(secure));
      pending.delete(keyOf(secure));
      waiter?.reject(
        new ProxyError('E_TLS_HANDSHAKE', `TLS handshake failed: ${error.message}`, { cause: error }),
      );
    });
    server = tlsServer;
  }

  const handshake = (socket: net.Socket, tlsServer: tls.Server) =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const key = keyOf(socket);
      pending.set(key, { resolve, reject });
      socket.once('close', () => {
        if (pending.get(key)) {
          pending.delete(key);
          reject(new ProxyError('E_TLS_HANDSHAKE', 'connection closed during the TLS handshake'));
        }
      });
      tlsServer.emit('connection', socket);
    });

  return {
    async accept(socket) {
      const plain: AcceptedConnection = {
        stream: socket,
        tls: false,
        peerIdentity: undefined,
        clientIdentity: undefined,
        header: undefined,
        passthroughSni: undefined,
      };
      // A client that sends no complete ClientHello before the detect timeout is
      // treated as plaintext (server-speaks-first protocols on undeclared ports).
      const sni = await readPrefix(
        socket,
        (data) => {
          if (data[0] !== 0x16) return { value: null, consumed: 0 };
          const name = readClientHelloSni(data);
          return name === undefined ? undefined : { value: name, consumed: 0 };
        },
        { timeoutMs, maxBytes: 16 * 1024 + 5, what: 'client hello' },
      ).catch((error: unknown) => {
        if ((error as ProxyError).code !== 'E_PREFIX_TIMEOUT') throw error;
        options.log.debug('no TLS before the detect timeout; forwarding as plaintext', {
          client: socket.remoteAddress,
        });
        return null;
      });
      if (sni === null || !credentials || !server || sni !== credentials.identity) {
        return sni ? { ...plain, passthroughSni: sni } : plain;
      }
      const secure = await handshake(socket, server);
      const peer = peerIdentity(secure);
      if (!peer) {
        secure.destroy();
        throw new ProxyError('E_PEER_IDENTITY', 'client certificate has no DNS identity');
      }
      const accepted: AcceptedConnection = {
        ...plain,
        stream: secure,
        tls: true,
        peerIdentity: peer,
        clientIdentity: peer,
      };
      if (secure.alpnProtocol !== TRANSPORT_ALPN) return accepted;
      let header: TransportHeader;
      try {
        header = await readPrefix(
          secure,
          (data) => {
            const parsed = parseTransportHeader(data);
            return parsed && { value: parsed.header, consumed: parsed.consumed };
          },
          { timeoutMs, maxBytes: 8192, what: `transport header from ${peer}` },
        );
      } catch (error) {
        secure.destroy();
        throw error;
      }
      accepted.header = header;
      if (header.clientIdentity) {
        if (options.isTrustedForwarder(peer)) accepted.clientIdentity = header.clientIdentity;
        else {
          options.log.warn(
            'ignored a forwarded client identity from a peer that is not a trusted forwarder',
            {
              peer,
              claimed: header.clientIdentity,
            },
          );
        }
      }
      return accepted;
    },
  };
}

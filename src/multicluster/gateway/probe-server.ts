import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { type Credentials, peerIdentity } from '../../proxy/transport/credentials.ts';

const TLS_HANDSHAKE = 0x16;

export interface ProbeServerOptions {
  /** The gateway's identity and trust bundle: what probing clients see and must chain to. */
  credentials: Credentials;
  /** The plain admin interface (/ready /live /metrics /shutdown), served to non-TLS clients. */
  admin: net.Server;
  ready: () => boolean;
  /** Told the verified identity of each client that sends an mTLS probe request. */
  onProbe?: (clientIdentity: string) => void;
  handshakeTimeoutMs?: number;
}

/**
 * The gateway's probe port. Plain HTTP goes to the admin interface, as on
 * every proxy. A connection that starts with TLS is the linked clusters'
 * authenticated probe: mutual TLS under the gateway's identity, the client
 * certificate must chain to the trust bundle, and only /ready and /live are
 * answered. A service mirror that checks the identity it reaches therefore
 * cannot be told "alive" by anything but the gateway its Link names.
 */
export function createProbeServer(options: ProbeServerOptions): net.Server {
  const { credentials } = options;
  const secureContext = () => ({
    cert: credentials.material.certChain,
    key: credentials.material.key,
    ca: credentials.material.trustBundle,
  });
  const probes = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const client = peerIdentity(request.socket as tls.TLSSocket);
    if (client) options.onProbe?.(client);
    const [status, body] =
      path === '/live'
        ? [200, 'live\n']
        : path === '/ready'
          ? options.ready()
            ? [200, 'ready\n']
            : [503, 'not ready\n']
          : [404, 'not found\n'];
    response.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
  const secure = tls.createServer({
    ...secureContext(),
    minVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    ALPNProtocols: ['http/1.1'],
  });
  credentials.on('change', () => secure.setSecureContext(secureContext()));
  secure.on('secureConnection', (socket) => probes.emit('connection', socket));
  secure.on('tlsClientError', (_error, socket) => socket.destroy());

  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return socket.destroy();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? secure : options.admin).emit('connection', socket);
    });
  });
  server.on('close', () => {
    probes.closeAllConnections();
    probes.close();
  });
  return server;
}

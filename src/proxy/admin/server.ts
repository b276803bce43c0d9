import http from 'node:http';

export interface AdminOptions {
  /** Whether the proxy is ready to serve (identity loaded, listeners up). */
  ready: () => boolean;
  metrics: () => string;
  /** Called on POST /shutdown from loopback. */
  shutdown: () => void;
}

/** The admin interface: /live, /ready, /metrics and POST /shutdown (loopback clients only). */
export function createAdminServer(options: AdminOptions): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string, type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    switch (path) {
      case '/live':
        return text(200, 'live\n');
      case '/ready':
        return options.ready() ? text(200, 'ready\n') : text(503, 'not ready\n');
      case '/metrics':
        return text(200, options.metrics(), 'text/plain; version=0.0.4');
      case '/shutdown':
        if (req.method !== 'POST') return text(405, 'shutdown needs POST\n');
        if (!isLoopback(req.socket.remoteAddress))
          return text(403, 'shutdown is only allowed from loopback\n');
        text(200, 'shutdown\n');
        options.shutdown();
        return;
      default:
        return text(404, 'not found\n');
    }
  });
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || plain.startsWith('127.');
}

import net from 'node:net';
import { BodyFramer, requestFraming } from '../http1/framing.ts';
import { findHeadEnd, parseRequestHead, type RequestHead, skipEmptyLines } from '../http1/head.ts';
import { reasonPhrase } from '../http1/reason.ts';
import { simpleResponse } from '../http1/simple-response.ts';

export interface AdminOptions {
  /** Whether the proxy is ready to serve (identity loaded, listeners up). */
  ready: () => boolean;
  metrics: () => string;
  /** Called on POST /shutdown from loopback. */
  shutdown: () => void;
}

/** The admin listener; `closeAllConnections` also ends connections handed to it with `emit('connection')`. */
export interface AdminServer extends net.Server {
  closeAllConnections(): void;
}

/** Admin connections with no request for this long are closed. */
const IDLE_MS = 60_000;

/**
 * The admin interface: /live, /ready, /metrics and POST /shutdown (loopback
 * clients only), over HTTP/1.1 with keep-alive. Requests are read with the
 * proxy's own parser (src/proxy/http1), so a proxy never loads node:http for
 * it; a malformed request is answered 400 naming the fault, and its
 * connection closes. Request bodies are read and ignored.
 */
export function createAdminServer(options: AdminOptions): AdminServer {
  const open = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    serve(socket, options);
  }) as AdminServer;
  server.closeAllConnections = () => {
    for (const socket of open) socket.destroy();
  };
  return server;
}

function serve(socket: net.Socket, options: AdminOptions): void {
  const body = new BodyFramer();
  let held: Buffer | undefined;
  let closing = false;
  socket.on('error', () => {});
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    if (closing) return;
    const buf = held === undefined ? chunk : Buffer.concat([held, chunk]);
    held = undefined;
    let pos = 0;
    try {
      while (pos < buf.length) {
        if (!body.done) {
          pos = body.advance(buf, pos, buf.length);
          continue;
        }
        pos = skipEmptyLines(buf, pos, buf.length);
        if (pos === buf.length) break;
        const end = findHeadEnd(buf, pos);
        if (end === -1) {
          held = buf.subarray(pos);
          return;
        }
        const head = parseRequestHead(buf, pos, end);
        body.start(requestFraming(head), head.contentLength);
        pos = end;
        if (!answer(socket, head, options)) {
          closing = true;
          return;
        }
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      socket.end(simpleResponse(400, 'Bad Request', `malformed admin request: ${reason}`));
      closing = true;
    }
  });
}

/** Answers one request; false when the connection is closing. */
function answer(socket: net.Socket, head: RequestHead, options: AdminOptions): boolean {
  const close = head.close || (head.minorVersion === 0 && !head.keepAlive);
  const send = (status: number, text: string, type = 'text/plain') => {
    const length = Buffer.byteLength(text);
    const fields =
      `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\ncontent-type: ${type}\r\ncontent-length: ${length}\r\n` +
      (close ? 'connection: close\r\n' : head.minorVersion === 0 ? 'connection: keep-alive\r\n' : '');
    socket.write(`${fields}\r\n${head.method === 'HEAD' ? '' : text}`);
  };
  const path = head.target.split('?')[0];
  switch (path) {
    case '/live':
      send(200, 'live\n');
      break;
    case '/ready':
      if (options.ready()) send(200, 'ready\n');
      else send(503, 'not ready\n');
      break;
    case '/metrics':
      send(200, options.metrics(), 'text/plain; version=0.0.4');
      break;
    case '/shutdown':
      if (head.method !== 'POST') send(405, 'shutdown needs POST\n');
      else if (!isLoopback(socket.remoteAddress)) send(403, 'shutdown is only allowed from loopback\n');
      else {
        send(200, 'shutdown\n');
        options.shutdown();
      }
      break;
    default:
      send(404, 'not found\n');
  }
  if (close) socket.end();
  return !close;
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || plain.startsWith('127.');
}

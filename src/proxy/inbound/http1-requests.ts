import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { describeError } from '../../core/errors.ts';
import type { Logger } from '../log.ts';
import { forwardRawHeaders } from '../outbound/headers.ts';
import { connectPlain } from '../transport/connect.ts';
import { relay } from '../transport/relay.ts';
import { CLIENT_ID_HEADER, CLIENT_ID_HEADERS, type InboundCaller } from './client-id.ts';
import type { InboundRecorder } from './record.ts';

const kCaller = Symbol('strait.inboundCaller');
type Tagged = { [kCaller]?: InboundCaller };

/**
 * Serves meshed HTTP/1.1 connections request by request: each request goes to
 * the application over pooled connections with the caller's verified identity
 * in `strait-client-id` (whatever the caller sent there is dropped), and is
 * counted and tapped. Upgrades (WebSocket) are relayed as bytes after the head.
 * One instance serves every connection of a listener.
 */
export function createHttp1Inbound(options: {
  appHost: string;
  log: Logger;
  recorder: InboundRecorder;
  connectTimeoutMs: number;
  /** Close idle connections from peers after this long; 0: never. */
  idleTimeoutMs: number;
}) {
  const { appHost, log, recorder } = options;
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', timeout: 3000 });
  const server = http.createServer({
    headersTimeout: 10_000,
    requestTimeout: 0,
    keepAliveTimeout: options.idleTimeoutMs,
  });
  server.on('request', (req, res) => {
    const caller = (req.socket as unknown as Tagged)[kCaller] as InboundCaller;
    const method = req.method ?? 'GET';
    const request = recorder.start(caller, method, req.url ?? '/', req.headers.host ?? '');
    let finished = false;
    const upstream = http.request({
      agent,
      host: appHost,
      port: caller.port,
      method,
      path: req.url,
      headers: withClientId(forwardRawHeaders(req.rawHeaders), caller.clientId),
      setHost: false,
    });
    const fail = (error: unknown) => {
      if (finished) return;
      finished = true;
      const text = describeError(error);
      log.info('request to application failed', { port: caller.port, error: text });
      recorder.done(caller, request, 502, undefined, text);
      upstream.destroy();
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(502, { 'content-type': 'text/plain', 'l5d-proxy-error': text });
        res.end(`${text}\n`);
      }
    };
    upstream.on('response', (response) => {
      const status = response.statusCode ?? 502;
      recorder.responded(request);
      res.writeHead(status, response.statusMessage, forwardRawHeaders(response.rawHeaders));
      response.pipe(res, { end: false });
      response.once('end', () => {
        if (response.rawTrailers.length > 0) res.addTrailers(pairs(response.rawTrailers));
        res.end();
        finished = true;
        recorder.done(caller, request, status, response.headers['grpc-status'] as string | undefined, '');
      });
      response.once('error', fail);
    });
    upstream.on('error', fail);
    res.once('close', () => {
      if (finished) return;
      finished = true;
      upstream.destroy();
      recorder.done(caller, request, 499, undefined, 'the caller closed the connection first');
    });
    req.pipe(upstream);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const caller = (socket as unknown as Tagged)[kCaller] as InboundCaller;
    socket.on('error', () => {});
    connectPlain(appHost, caller.port, options.connectTimeoutMs).then(
      (upstream) => {
        const headers = withClientId(
          forwardRawHeaders(req.rawHeaders, undefined, ['connection', 'upgrade']),
          caller.clientId,
        );
        let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
        for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
        upstream.write(`${text}\r\n`);
        if (head.length > 0) upstream.write(head);
        relay(socket, upstream);
      },
      (error: unknown) => {
        log.info('upgrade to application failed', { port: caller.port, error: describeError(error) });
        socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      },
    );
  });
  server.on('clientError', (error, socket) => {
    log.info('malformed HTTP/1 request from a peer', { error: error.message });
    if (socket.writable && !(error as NodeJS.ErrnoException).code?.startsWith('ECONN')) {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    } else socket.destroy();
  });
  return {
    /** Serves one connection (after its transport header) from `caller`. */
    serve(connection: Duplex, caller: InboundCaller): void {
      (connection as unknown as Tagged)[kCaller] = caller;
      // node:http may read from the connection's handle and so never see bytes put back
      // after the transport header: take them out and hand them over as data.
      const head = connection.read() as Buffer | null;
      server.emit('connection', connection);
      if (head) connection.emit('data', head);
      connection.resume();
    },
    close(): void {
      agent.destroy();
    },
  };
}

/** Raw headers without any caller-sent identity, plus the verified one. */
export function withClientId(raw: string[], clientId: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!CLIENT_ID_HEADERS.has((raw[i] as string).toLowerCase()))
      out.push(raw[i] as string, raw[i + 1] as string);
  }
  if (clientId) out.push(CLIENT_ID_HEADER, clientId);
  return out;
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

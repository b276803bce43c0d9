import type net from 'node:net';
import { BodyFramer, requestFraming } from '../http1/framing.ts';
import {
  findHeadEnd,
  type HeadLimits,
  parseRequestHead,
  type RequestHead,
  skipEmptyLines,
} from '../http1/head.ts';
import { reasonPhrase } from '../http1/reason.ts';
import { lingerClose, oneLine, simpleResponse } from '../http1/simple-response.ts';
import { Http1Timeouts } from '../http1/timeouts.ts';
import type { Logger } from '../log.ts';
import type { KeepRead } from '../transport/reused-buffer.ts';
import type { AppExchange } from './app-exchange.ts';
import { HOP_BY_HOP_FIELDS, upstreamRequestHead } from './headers.ts';
import type { UpstreamHead } from './http1-response.ts';

/** A request that leaves HTTP for raw bytes (CONNECT, an upgrade), as the application sent it. */
export interface HandedOffRequest {
  method: string;
  /** The request target in origin-form (an absolute-form target's path and query). */
  path: string;
  rawHeaders: string[];
}

/** What every application connection of one outbound listener shares. */
export interface OutboundAppContext {
  log: Logger;
  limits: HeadLimits;
  /** Forwards one request to `authority`. */
  forward(exchange: AppExchange, authority: string): void;
  /** Takes over the connection for an upgrade request (WebSocket); `head`: the bytes after its head. */
  upgrade(request: HandedOffRequest, socket: net.Socket, head: Buffer, authority: string): void;
  /** Takes over the connection for a CONNECT tunnel to `authority`. */
  tunnel(socket: net.Socket, authority: string, head: Buffer): void;
  /** The listener is draining: responses close their connections. */
  draining(): boolean;
  /** Called once when a connection is finished with (closed, or handed over). */
  released(connection: OutboundAppConnection): void;
}

/** Pipelined request bytes held while a request is in flight before the application is paused. */
const HELD_BYTES = 64 * 1024;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/** A response body piece at most this large is copied behind its head, to go out in one write. */
const COPY_WITH_HEAD_BYTES = 16 * 1024;

/**
 * One HTTP/1 connection from the application to the outbound listener,
 * served without node:http: request heads are parsed and checked strictly
 * (400 naming the fault, then close), each request becomes an AppExchange
 * for the forwarder, its body is passed on as framed, and the response is
 * written back framed for this client (chunked when its length is unknown,
 * close-delimited for HTTP/1.0). One exchange at a time: pipelined requests
 * wait, in order. CONNECT and upgrades hand the connection over.
 */
export class OutboundAppConnection {
  readonly #socket: net.Socket;
  readonly #context: OutboundAppContext;
  /** The listener's fixed target for this connection (explicit listener, original destination). */
  readonly #target: string | undefined;
  readonly remoteAddress: string;
  readonly #body = new BodyFramer();
  /** Client bytes not yet processed: the next requests. */
  #held: Buffer | undefined;
  #exchange: Exchange | undefined;
  /** Inside #next: an exchange that completes synchronously must not start the next one itself. */
  #serving = false;
  #closeAfter = false;
  /**
   * A response head not written yet: it goes out with the first piece of the
   * body, in one write. Its status line and fields; then `#heldHeadEnd`, this
   * connection's framing fields and the blank line.
   */
  #heldHead: Buffer | undefined;
  #heldHeadEnd = '';
  #clientEnded = false;
  #paused = false;
  #closed = false;
  readonly #timeouts = new Http1Timeouts();

  constructor(socket: net.Socket, target: string | undefined, context: OutboundAppContext) {
    this.#socket = socket;
    this.#target = target;
    this.#context = context;
    this.remoteAddress = socket.remoteAddress ?? '';
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onGone);
    socket.on('error', this.#onGone);
    socket.resume();
  }

  /** The bounds on request heads of this listener. */
  get limits(): HeadLimits {
    return this.#context.limits;
  }

  /**
   * Called about once a second (`tick` counts the calls) by the listener:
   * answers 408 to a request head still incomplete after `headTicks`, and
   * closes a connection idle (no request in flight, no bytes) for `idleTicks` (0: never).
   */
  sweep(tick: number, headTicks: number, idleTicks: number): void {
    const expired = this.#timeouts.check(tick, headTicks, idleTicks, this.#exchange !== undefined);
    if (expired === 'head') {
      const reason = `request head incomplete after ${headTicks} s`;
      this.#context.log.info('closing a slow application connection', { client: this.remoteAddress, reason });
      this.#socket.end(simpleResponse(408, 'Request Timeout', reason));
      this.#close(true);
    } else if (expired === 'idle') this.#close(true);
  }

  /** Graceful drain: an idle connection closes now, a busy one after its response. */
  drain(): void {
    if (this.#exchange === undefined) this.#close(true);
    else this.#closeAfter = true;
  }

  // ---- requests ----------------------------------------------------------------

  #onData = (chunk: Buffer): void => {
    this.#timeouts.active = true;
    const exchange = this.#exchange;
    if (exchange !== undefined && !this.#body.done) {
      const end = this.#feedBody(exchange, chunk);
      if (end === -1 || end === chunk.length) return;
      chunk = chunk.subarray(end);
    }
    const held = this.#held;
    this.#held = held === undefined ? chunk : Buffer.concat([held, chunk]);
    if (this.#exchange === undefined) this.#next();
    else if (this.#held.length > HELD_BYTES && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  };

  /** Starts the held requests, one at a time. */
  #next(): void {
    if (this.#serving) return;
    this.#serving = true;
    try {
      while (this.#exchange === undefined && !this.#closed && this.#held !== undefined) {
        if (!this.#start(this.#held)) break;
      }
    } finally {
      this.#serving = false;
    }
    if (this.#exchange !== undefined || this.#closed) return;
    if (this.#clientEnded) this.#close(true);
    else if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /**
   * Starts the request at the beginning of `buf`; false when its head is not
   * complete yet (it stays held) or the connection ended.
   */
  #start(buf: Buffer): boolean {
    const limits = this.#context.limits;
    const pos = skipEmptyLines(buf, 0, buf.length);
    if (pos === buf.length) {
      this.#held = undefined;
      return true;
    }
    let head: RequestHead;
    let headEnd: number;
    try {
      headEnd = findHeadEnd(buf, pos, limits);
      if (headEnd === -1) {
        this.#held = pos === 0 ? buf : buf.subarray(pos);
        this.#timeouts.headIncomplete();
        return false;
      }
      head = parseRequestHead(buf, pos, headEnd, { limits, drop: HOP_BY_HOP_FIELDS });
      this.#body.start(requestFraming(head), head.contentLength);
    } catch (error) {
      this.#badRequest(error);
      return false;
    }
    this.#timeouts.headComplete();
    const rest = buf.subarray(headEnd);
    this.#held = undefined;
    if (head.method === 'CONNECT') {
      this.#handOff();
      this.#context.tunnel(this.#socket, head.target, rest);
      return false;
    }
    const target = readRequestTarget(head.target);
    const authority = requestAuthority(target, head.host, this.#target);
    if (!authority) {
      this.#reject(400, 'Bad Request', 'request names no target host');
      return false;
    }
    if (head.upgrade) {
      this.#handOff();
      const rawHeaders = allRawHeaders(buf.subarray(pos, headEnd), limits);
      const request = { method: head.method, path: target.path, rawHeaders };
      this.#context.upgrade(request, this.#socket, rest, authority);
      return false;
    }
    const exchange = new Exchange(this, head, buf.subarray(pos, headEnd), target);
    this.#exchange = exchange;
    if (head.minorVersion === 1 && head.expectContinue) this.#socket.write(CONTINUE, 'latin1');
    const end = this.#feedBody(exchange, rest);
    if (end === -1) return false;
    if (end < rest.length) this.#held = rest.subarray(end);
    this.#context.forward(exchange, authority);
    return true;
  }

  /**
   * Passes the bytes of the request body at the start of `buf` to `exchange`,
   * and its end once complete; returns where the body stopped in `buf`, or -1
   * when the body is malformed (the request has been answered 400).
   */
  #feedBody(exchange: Exchange, buf: Buffer): number {
    let end: number;
    try {
      end = this.#body.advance(buf, 0, buf.length);
    } catch (error) {
      this.#badRequest(error);
      return -1;
    }
    if (end > 0) exchange.pushBody(end === buf.length ? buf : buf.subarray(0, end));
    if (this.#body.done) {
      exchange.endBody();
      if (exchange.responseEnded) this.#finish(exchange);
    }
    return end;
  }

  #onEnd = (): void => {
    this.#clientEnded = true;
    const exchange = this.#exchange;
    if (exchange === undefined) this.#close(true);
    else if (!exchange.bodyEnded) {
      // The request can never be complete.
      this.#exchange = undefined;
      this.#close(false);
      exchange.abort();
    }
  };

  #onGone = (): void => {
    if (this.#closed) return;
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.#close(false);
    exchange?.abort();
  };

  #badRequest(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.#context.log.info('malformed HTTP/1 request from application', {
      client: this.remoteAddress,
      error: reason,
    });
    const exchange = this.#exchange;
    this.#exchange = undefined;
    exchange?.abort();
    if (exchange?.headersSent) this.#close(false);
    else this.#reject(400, 'Bad Request', reason);
  }

  /** Answers `status` with connection: close and closes. */
  #reject(status: number, text: string, reason: string): void {
    this.#socket.end(simpleResponse(status, text, reason));
    this.#close(true);
  }

  // ---- responses (called through the exchange) ---------------------------------

  writeHead(exchange: Exchange, status: number, reason: string, raw: readonly string[]): void {
    if (exchange !== this.#exchange || exchange.headersSent) return;
    let length = false;
    let text = `HTTP/1.1 ${status} ${reason}\r\n`;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.length === 14 && name.toLowerCase() === 'content-length') length = true;
      text += `${name}: ${raw[i + 1]}\r\n`;
    }
    this.#holdHead(exchange, status, Buffer.from(text, 'latin1'), length);
  }

  forwardHead(exchange: Exchange, head: UpstreamHead): void {
    if (exchange !== this.#exchange || exchange.headersSent) return;
    this.#holdHead(exchange, head.status, head.lines, head.hasLength);
  }

  /** Starts the response with `lines` (status line and fields) and the framing this client needs. */
  #holdHead(exchange: Exchange, status: number, lines: Buffer, length: boolean): void {
    exchange.headersSent = true;
    const bodiless = exchange.method === 'HEAD' || status < 200 || status === 204 || status === 304;
    let end = '';
    if (!bodiless && !length) {
      // A body of unknown length: chunked for HTTP/1.1, until the close for HTTP/1.0.
      if (exchange.minorVersion === 1) {
        exchange.chunked = true;
        end = 'transfer-encoding: chunked\r\n';
      } else this.#closeAfter = true;
    }
    exchange.bodiless = bodiless;
    if (!exchange.keepAlive || this.#context.draining()) this.#closeAfter = true;
    if (this.#closeAfter) end += 'connection: close\r\n';
    else if (exchange.minorVersion === 0) end += 'connection: keep-alive\r\n';
    // Head and body of a response that is read at once go out in one write: the head waits
    // for the body's first piece until the end of this tick.
    this.#heldHead = lines;
    this.#heldHeadEnd = `${end}\r\n`;
    process.nextTick(this.#flushHead);
  }

  /**
   * The held head, whole, in a new buffer with `room` bytes free after it
   * (for the body's first piece); undefined when no head is held.
   */
  #takeHead(room: number): Buffer | undefined {
    const lines = this.#heldHead;
    if (lines === undefined) return undefined;
    this.#heldHead = undefined;
    const end = this.#heldHeadEnd;
    const out = Buffer.allocUnsafe(lines.length + end.length + room);
    lines.copy(out, 0);
    out.write(end, lines.length, 'latin1');
    return out;
  }

  /** Writes a held response head on its own. */
  #flushHead = (): void => {
    const head = this.#takeHead(0);
    if (head !== undefined && !this.#closed) this.#socket.write(head);
  };

  write(exchange: Exchange, chunk: Buffer, keep?: KeepRead): boolean {
    if (exchange !== this.#exchange || exchange.bodiless || chunk.length === 0) return true;
    const socket = this.#socket;
    if (!exchange.chunked) {
      if (this.#heldHead === undefined) return socket.write(chunk, keep?.());
      // Copying a small body is cheaper than a second buffer in the write.
      if (chunk.length <= COPY_WITH_HEAD_BYTES) {
        const out = this.#takeHead(chunk.length) as Buffer;
        chunk.copy(out, out.length - chunk.length);
        return socket.write(out);
      }
    }
    const head = this.#takeHead(0);
    socket.cork();
    if (head !== undefined) socket.write(head);
    let more: boolean;
    if (exchange.chunked) {
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk, keep?.());
      more = socket.write('\r\n', 'latin1');
    } else more = socket.write(chunk, keep?.());
    socket.uncork();
    return more;
  }

  onDrain(exchange: Exchange, listener: () => void): void {
    if (exchange === this.#exchange) this.#socket.once('drain', listener);
  }

  end(exchange: Exchange, trailers: readonly string[]): void {
    if (exchange !== this.#exchange || exchange.responseEnded) return;
    exchange.responseEnded = true;
    if (exchange.chunked) {
      let text = '0\r\n';
      for (let i = 0; i < trailers.length; i += 2) text += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      text += '\r\n';
      const head = this.#takeHead(text.length);
      if (head === undefined) this.#socket.write(text, 'latin1');
      else {
        head.write(text, head.length - text.length, 'latin1');
        this.#socket.write(head);
      }
    } else this.#flushHead();
    // The rest of a body the server did not wait for is read and dropped first.
    if (exchange.bodyEnded) this.#finish(exchange);
  }

  respondError(exchange: Exchange, status: number, reason: string): void {
    if (exchange !== this.#exchange) return;
    if (exchange.headersSent) {
      this.destroy(exchange);
      return;
    }
    const safe = oneLine(reason);
    const body = Buffer.from(`${safe}\n`);
    this.writeHead(exchange, status, reasonPhrase(status), [
      'content-type',
      'text/plain',
      'l5d-proxy-error',
      safe,
      'content-length',
      String(body.length),
    ]);
    this.write(exchange, body);
    this.end(exchange, []);
  }

  destroy(exchange: Exchange): void {
    if (exchange !== this.#exchange) return;
    this.#exchange = undefined;
    this.#close(false);
  }

  pauseBody(exchange: Exchange): void {
    if (exchange === this.#exchange && !exchange.bodyEnded) this.#socket.pause();
  }

  resumeBody(exchange: Exchange): void {
    if (exchange === this.#exchange && !this.#paused) this.#socket.resume();
  }

  /** Both the request body and the response are complete. */
  #finish(exchange: Exchange): void {
    if (exchange !== this.#exchange) return;
    this.#exchange = undefined;
    if (this.#closeAfter) {
      this.#close(true);
      return;
    }
    this.#next();
  }

  // ---- endings -------------------------------------------------------------------

  /** Stops listening: someone else has the socket now. */
  #handOff(): void {
    this.#detach();
    this.#closed = true;
    this.#socket.pause();
    this.#context.released(this);
  }

  #detach(): void {
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onGone);
    socket.off('error', this.#onGone);
  }

  /** Closes the connection; `graceful` lets what was written go out and waits for the client's close. */
  #close(graceful: boolean): void {
    if (this.#closed) return;
    if (graceful) this.#flushHead();
    this.#closed = true;
    this.#held = undefined;
    this.#heldHead = undefined;
    this.#detach();
    const socket = this.#socket;
    socket.on('error', () => {});
    if (graceful) lingerClose(socket);
    else socket.destroy();
    this.#context.released(this);
  }
}

/** One request of an OutboundAppConnection, as the forwarder sees it. */
class Exchange implements AppExchange {
  readonly #connection: OutboundAppConnection;
  readonly method: string;
  readonly path: string;
  readonly absoluteHost: string | undefined;
  readonly host: string | undefined;
  readonly contentLength: number;
  readonly transferEncoding: boolean;
  readonly minorVersion: number;
  /** The request head as received (a view of the bytes read, which nothing reuses). */
  readonly #head: Buffer;
  /** The lines of the hop-by-hop fields in `#head`. */
  readonly #dropped: readonly number[];
  readonly #connectionNames: string[] | undefined;
  #rawHeaders: string[] | undefined;
  /** The client wants the connection kept open after this exchange. */
  readonly keepAlive: boolean;
  headersSent = false;
  bodiless = false;
  chunked = false;
  bodyEnded = false;
  responseEnded = false;
  /** Body bytes that came before a reader. */
  #pending: Buffer[] | undefined;
  #pendingBytes = 0;
  #onData: ((chunk: Buffer) => void) | undefined;
  #onEnd: (() => void) | undefined;
  #onAbort: (() => void) | undefined;

  constructor(connection: OutboundAppConnection, head: RequestHead, bytes: Buffer, target: RequestTarget) {
    this.#connection = connection;
    this.method = head.method;
    this.path = target.path;
    this.absoluteHost = target.absoluteHost;
    this.host = head.host;
    this.contentLength = head.contentLength;
    this.transferEncoding = head.transferEncoding !== '';
    this.minorVersion = head.minorVersion;
    this.keepAlive = !head.close && (head.minorVersion === 1 || head.keepAlive);
    this.#head = bytes;
    this.#dropped = head.dropped;
    this.#connectionNames = head.connectionNames;
  }

  /** Read from the head bytes when first asked for: the HTTP/1.1 path to an upstream never needs them. */
  get rawHeaders(): string[] {
    this.#rawHeaders ??= allRawHeaders(this.#head, this.#connection.limits);
    return this.#rawHeaders;
  }

  upstreamHead(host: string | undefined): Buffer {
    let dropped = this.#dropped;
    if (host !== undefined || this.#connectionNames !== undefined) {
      // Fields the Connection field names go too, and a new Host replaces the one sent: a second
      // parse finds their lines (an HTTP proxy client's or a remote service's request).
      const drop = [...HOP_BY_HOP_FIELDS, ...(this.#connectionNames ?? [])];
      if (host !== undefined) drop.push('host');
      const limits = this.#connection.limits;
      dropped = parseRequestHead(this.#head, 0, this.#head.length, { limits, drop }).dropped;
    }
    return upstreamRequestHead(this.#head, dropped, this.method, this.path, host, this.transferEncoding);
  }

  get httpVersion(): string {
    return this.minorVersion === 1 ? '1.1' : '1.0';
  }

  get remoteAddress(): string {
    return this.#connection.remoteAddress;
  }

  pushBody(chunk: Buffer): void {
    // A body the response did not wait for is read and dropped.
    if (this.responseEnded) return;
    if (this.#onData) {
      this.#onData(chunk);
      return;
    }
    this.#pending ??= [];
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes > HELD_BYTES) this.#connection.pauseBody(this);
  }

  endBody(): void {
    this.bodyEnded = true;
    if (this.#onEnd) this.#onEnd();
  }

  abort(): void {
    this.#onAbort?.();
  }

  readBody(onData: (chunk: Buffer) => void, onEnd: () => void): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) for (const chunk of pending) onData(chunk);
    if (this.bodyEnded) {
      onEnd();
      return;
    }
    this.#onData = onData;
    this.#onEnd = onEnd;
    if (this.#pendingBytes > HELD_BYTES) this.#connection.resumeBody(this);
    this.#pendingBytes = 0;
  }

  pauseBody(): void {
    this.#connection.pauseBody(this);
  }

  resumeBody(): void {
    this.#connection.resumeBody(this);
  }

  onAbort(listener: () => void): void {
    this.#onAbort = listener;
  }

  writeHead(status: number, reason: string, rawHeaders: readonly string[]): void {
    this.#connection.writeHead(this, status, reason, rawHeaders);
  }

  forwardHead(head: UpstreamHead): void {
    this.#connection.forwardHead(this, head);
  }

  write(chunk: Buffer, keep?: KeepRead): boolean {
    return this.#connection.write(this, chunk, keep);
  }

  onDrain(listener: () => void): void {
    this.#connection.onDrain(this, listener);
  }

  end(trailers: readonly string[] = []): void {
    this.#connection.end(this, trailers);
  }

  respondError(status: number, reason: string): void {
    this.#connection.respondError(this, status, reason);
  }

  destroy(): void {
    this.#connection.destroy(this);
  }
}

/** Every field of a request head that parsed before, as [name, value, ...]. */
function allRawHeaders(head: Buffer, limits: HeadLimits): string[] {
  return parseRequestHead(head, 0, head.length, { limits, rawHeaders: true }).rawHeaders as string[];
}

/** A request target read once: what goes upstream and, for absolute-form, the host it names. */
export interface RequestTarget {
  /** Origin-form (or `*`): an absolute-form target's path and query, else the target as sent. */
  path: string;
  /** Absolute-form (an HTTP proxy client): the URL's host, as in a Host field (default port left out). */
  absoluteHost: string | undefined;
  /** Absolute-form: that host with its port, the scheme's default when none; '' when the URL does not parse. */
  absoluteAuthority: string | undefined;
}

/** Reads a request target: origin-form and `*` as they are, absolute-form through the URL parser. */
export function readRequestTarget(target: string): RequestTarget {
  if (target.startsWith('/') || target === '*') {
    return { path: target, absoluteHost: undefined, absoluteAuthority: undefined };
  }
  try {
    const url = new URL(target);
    return {
      path: `${url.pathname}${url.search}`,
      absoluteHost: url.host,
      absoluteAuthority: withPort(url.host, url.protocol === 'https:' ? 443 : 80),
    };
  } catch {
    return { path: target, absoluteHost: undefined, absoluteAuthority: '' };
  }
}

/**
 * The target of a request: the listener's, an absolute-form URL's (RFC 9112 §3.2.2: it wins over
 * Host), or the Host field's; '' when none names a host.
 */
export function requestAuthority(
  target: RequestTarget,
  host: string | undefined,
  fixed: string | undefined,
): string {
  if (fixed) return fixed;
  return target.absoluteAuthority ?? withPort(host ?? '', 80);
}

/** "host" → "host:port"; a host with a port keeps it. */
export function withPort(host: string, port: number): string {
  if (!host) return '';
  return /:\d+$/.test(host) && !host.endsWith(']') ? host : `${host}:${port}`;
}

import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { describeError } from '../../core/errors.ts';
import { Http1Error } from '../http1/error.ts';
import { BodyFramer, requestFraming, responseFraming } from '../http1/framing.ts';
import {
  findHeadEnd,
  type HeadLimits,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  skipEmptyLines,
} from '../http1/head.ts';
import { lingerClose, simpleResponse } from '../http1/simple-response.ts';
import { Http1Timeouts } from '../http1/timeouts.ts';
import type { Logger } from '../log.ts';
import { isIdempotent } from '../outbound/headers.ts';
import { connectPlain } from '../transport/connect.ts';
import { relay } from '../transport/relay.ts';
import { attachReadSink, type KeepRead } from '../transport/reused-buffer.ts';
import { CLIENT_ID_HEADER, CLIENT_ID_HEADERS, type InboundCaller } from './client-id.ts';
import type { InboundRecorder, InboundRequest } from './record.ts';

/** What every connection of one listener shares. */
export interface Http1InboundContext {
  appHost: string;
  log: Logger;
  recorder: InboundRecorder;
  connectTimeoutMs: number;
  /** Close a connection with no request in flight and no bytes either way for this long; 0: never. */
  idleTimeoutMs: number;
  limits: HeadLimits;
  /** Called once when a connection is finished with (closed, or handed to the byte relay). */
  released(connection: Http1InboundConnection): void;
}

const DROP = [...CLIENT_ID_HEADERS];
/** Client bytes held while a request is in flight before the client is paused. */
const HELD_BYTES = 64 * 1024;

/**
 * One inbound HTTP/1 connection relayed to the application over one
 * connection of its own, request by request, without node:http: each request
 * head is parsed and checked, written on with the caller's verified identity
 * in `strait-client-id` (any claimed one dropped), its body relayed by its
 * framing; the response head is parsed for the status, and its body relayed
 * by its framing. One exchange at a time: pipelined requests wait, in order.
 * A 101 answer to an upgrade (or 2xx to CONNECT) turns the connection into a
 * byte relay.
 */
export class Http1InboundConnection {
  readonly #client: Duplex;
  readonly #caller: InboundCaller;
  readonly #context: Http1InboundContext;
  /** The identity field and the blank line that ends every head sent to the application. */
  readonly #headEnd: Buffer;
  #app: net.Socket | undefined;
  /** Client bytes not yet processed (the next requests, or a request waiting for its connection). */
  #held: Buffer | undefined;
  /** The parsed head at the start of #held, waiting for the application connection. */
  #heldHead: RequestHead | undefined;
  /** A connection to the application is being made: client bytes wait. */
  #connecting = false;
  /** Exchanges completed on the current application connection. */
  #appServed = 0;
  /**
   * The head of a bodiless idempotent request sent on a reused application
   * connection, kept until the first response byte: if the application closes
   * that connection first (it timed it out as we wrote), the request is sent
   * again on a new one.
   */
  #resend: Buffer | undefined;
  /** #resend, while its new connection is being made. */
  #retryHead: Buffer | undefined;
  /** The exchange in flight, from its request head to the end of both bodies. */
  #request: InboundRequest | undefined;
  #method = '';
  #tunnel = false;
  #closeAfter = false;
  // A caller's identity claim is refused in request trailers too (it cannot be cut out of the stream).
  readonly #requestBody = new BodyFramer({ refusedTrailers: DROP });
  readonly #responseBody = new BodyFramer();
  #responseHead = false;
  #responseDone = false;
  #sentToClient = false;
  #status = 0;
  #grpcStatus: string | undefined;
  /** Start of a response head split across reads. */
  #partialResponse: Buffer | undefined;
  /** Application bytes accepted for the client and not yet written: [#outStart, #outEnd) of #outBuf. */
  #outBuf: Buffer | undefined;
  #outStart = 0;
  #outEnd = 0;
  /** During a read into the application socket's reused buffer: keeps that buffer for a write. */
  #keepRead: KeepRead | undefined;
  #appFull = false;
  #clientPaused = false;
  #clientEnded = false;
  #closed = false;
  readonly #timeouts = new Http1Timeouts();

  constructor(client: Duplex, caller: InboundCaller, context: Http1InboundContext) {
    this.#client = client;
    this.#caller = caller;
    this.#context = context;
    this.#headEnd = Buffer.from(identityLines(caller, context.log));
    client.on('data', this.#onClientData);
    client.on('end', this.#onClientEnd);
    client.on('error', this.#onClientGone);
    client.on('close', this.#onClientGone);
    client.on('drain', this.#onClientDrain);
    client.resume();
  }

  /**
   * Called about once a second (`tick` counts the calls) by the listener:
   * answers 408 to a request head still incomplete after `headTicks`, and
   * closes a connection idle (no request in flight, no bytes) for `idleTicks` (0: never).
   */
  sweep(tick: number, headTicks: number, idleTicks: number): void {
    const expired = this.#timeouts.check(tick, headTicks, idleTicks, this.#request !== undefined);
    if (expired === 'head') {
      const reason = `request head incomplete after ${headTicks} s`;
      this.#context.log.info('closing a slow inbound HTTP/1 connection', {
        client: this.#caller.source,
        reason,
      });
      this.#client.end(simpleResponse(408, 'Request Timeout', reason));
      this.#close(false, true);
    } else if (expired === 'idle') {
      this.#context.log.debug('closing an idle inbound HTTP/1 connection', { client: this.#caller.source });
      this.#close(true);
    }
  }

  // ---- client → application ------------------------------------------------

  #onClientData = (chunk: Buffer): void => {
    this.#timeouts.active = true;
    const held = this.#held;
    if (this.#connecting) {
      // The client is paused; this is what was already on its way.
      this.#held = held ? Buffer.concat([held, chunk]) : chunk;
      return;
    }
    if (held === undefined) {
      this.#consumeClient(chunk, 0);
      return;
    }
    this.#held = undefined;
    this.#consumeClient(Buffer.concat([held, chunk]), 0);
  };

  /** Processes client bytes from `pos`: request heads and bodies, in order. */
  #consumeClient(buf: Buffer, pos: number): void {
    const app = this.#app;
    app?.cork();
    try {
      pos = this.#consumeRequests(buf, pos);
    } catch (error) {
      app?.uncork();
      this.#badRequest(error);
      return;
    }
    app?.uncork();
    if (this.#closed) return;
    if (pos < buf.length) this.#held = buf.subarray(pos);
    if (this.#clientEnded && this.#request === undefined) this.#close(true);
    else this.#updateClientFlow();
  }

  #consumeRequests(buf: Buffer, pos: number): number {
    const end = buf.length;
    while (pos < end && !this.#closed) {
      if (this.#request !== undefined) {
        if (this.#requestBody.done) return pos;
        const bodyEnd = this.#requestBody.advance(buf, pos, end);
        if (bodyEnd > pos) this.#writeApp(buf.subarray(pos, bodyEnd));
        pos = bodyEnd;
        if (this.#requestBody.done && this.#responseDone) this.#finishExchange();
        continue;
      }
      pos = skipEmptyLines(buf, pos, end);
      if (pos === end) break;
      const headEnd = findHeadEnd(buf, pos, this.#context.limits);
      if (headEnd === -1) {
        this.#timeouts.headIncomplete();
        break;
      }
      this.#timeouts.headComplete();
      const head = parseRequestHead(buf, pos, headEnd, { limits: this.#context.limits, drop: DROP });
      this.#begin(head);
      if (this.#app === undefined) {
        // The head waits, in place, for the connection to the application.
        this.#heldHead = head;
        this.#connect();
        return pos;
      }
      this.#writeHead(buf, head, pos);
      pos = headEnd;
      if (this.#requestBody.done && this.#responseDone) this.#finishExchange();
    }
    return pos;
  }

  /** Starts an exchange for a parsed request head. */
  #begin(head: RequestHead): void {
    const framing = requestFraming(head);
    this.#method = head.method;
    this.#tunnel = head.upgrade || head.method === 'CONNECT';
    this.#closeAfter = head.close || (head.minorVersion === 0 && !head.keepAlive);
    this.#requestBody.start(framing, head.contentLength);
    this.#responseHead = false;
    this.#responseDone = false;
    this.#sentToClient = false;
    this.#status = 0;
    this.#grpcStatus = undefined;
    this.#request = this.#context.recorder.start(this.#caller, head.method, head.target, head.host ?? '');
  }

  /**
   * Writes a request head, in one piece, without the caller's identity
   * claims and with the verified identity.
   */
  #writeHead(buf: Buffer, head: RequestHead, start: number): void {
    const dropped = head.dropped;
    const fieldsEnd = start + head.length - 2;
    let size = head.length - 2 + this.#headEnd.length;
    for (let k = 0; k < dropped.length; k += 2) size -= (dropped[k + 1] as number) - (dropped[k] as number);
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    let from = start;
    for (let k = 0; k < dropped.length; k += 2) {
      at += buf.copy(out, at, from, start + (dropped[k] as number));
      from = start + (dropped[k + 1] as number);
    }
    at += buf.copy(out, at, from, fieldsEnd);
    this.#headEnd.copy(out, at);
    this.#writeApp(out);
    this.#resend =
      this.#appServed > 0 && this.#requestBody.done && isIdempotent(head.method) ? out : undefined;
  }

  #writeApp(chunk: Buffer): void {
    if (!(this.#app as net.Socket).write(chunk)) this.#appFull = true;
  }

  #connect(): void {
    this.#connecting = true;
    const { appHost, connectTimeoutMs } = this.#context;
    connectPlain(appHost, this.#caller.port, connectTimeoutMs).then(
      this.#onAppConnected,
      this.#onConnectFailed,
    );
    this.#updateClientFlow();
  }

  #onAppConnected = (app: net.Socket): void => {
    if (this.#closed) {
      app.destroy();
      return;
    }
    this.#app = app;
    app.on('end', this.#onAppEnd);
    app.on('error', this.#onAppError);
    app.on('close', this.#onAppClose);
    app.on('drain', this.#onAppDrain);
    if (!attachReadSink(app, this.#onAppRead)) app.on('data', this.#onAppData);
    app.resume();
    this.#connecting = false;
    this.#appServed = 0;
    const retry = this.#retryHead;
    if (retry !== undefined) {
      this.#retryHead = undefined;
      this.#writeApp(retry);
      this.#updateClientFlow();
      return;
    }
    const buf = this.#held as Buffer;
    const head = this.#heldHead as RequestHead;
    this.#held = undefined;
    this.#heldHead = undefined;
    app.cork();
    this.#writeHead(buf, head, 0);
    this.#consumeClient(buf, head.length);
    app.uncork();
  };

  #onConnectFailed = (error: unknown): void => {
    this.#connecting = false;
    this.#held = undefined;
    this.#heldHead = undefined;
    this.#retryHead = undefined;
    this.#failExchange(502, `connect to the application: ${describeError(error)}`);
  };

  #onAppDrain = (): void => {
    this.#appFull = false;
    this.#updateClientFlow();
  };

  /** Pauses the client while the application is behind, while connecting, or while much is held. */
  #updateClientFlow(): void {
    const hold =
      this.#appFull || this.#connecting || (this.#held !== undefined && this.#held.length > HELD_BYTES);
    if (hold === this.#clientPaused) return;
    this.#clientPaused = hold;
    if (hold) this.#client.pause();
    else this.#client.resume();
  }

  #onClientEnd = (): void => {
    this.#clientEnded = true;
    if (!this.#request) this.#close(true);
  };

  #onClientGone = (): void => {
    if (this.#closed) return;
    if (this.#request) {
      this.#context.recorder.done(
        this.#caller,
        this.#request,
        499,
        undefined,
        'the caller closed the connection first',
      );
      this.#request = undefined;
    }
    this.#close(false);
  };

  #badRequest(error: unknown): void {
    const text = describeError(error);
    if (!(error instanceof Http1Error)) {
      this.#context.log.error('inbound HTTP/1 connection failed', {
        client: this.#caller.source,
        error: text,
      });
      this.#close(false);
      return;
    }
    this.#context.log.info('malformed HTTP/1 request from a peer', {
      client: this.#caller.source,
      error: text,
    });
    this.#failExchange(400, text);
  }

  // ---- application → client ------------------------------------------------

  /** Reads from a reused-buffer socket: bytes still queued in a write must be kept. */
  #onAppRead = (chunk: Buffer, keep: KeepRead): boolean => {
    this.#keepRead = keep;
    this.#onAppData(chunk);
    this.#keepRead = undefined;
    // Closed, or handed to the byte relay, which now decides when to read.
    return this.#closed || !this.#client.writableNeedDrain;
  };

  #onAppData = (chunk: Buffer): void => {
    this.#timeouts.active = true;
    this.#resend = undefined;
    let buf = chunk;
    const partial = this.#partialResponse;
    if (partial !== undefined) {
      this.#partialResponse = undefined;
      buf = Buffer.concat([partial, chunk]);
    }
    let pos: number;
    try {
      pos = this.#consumeResponses(buf);
    } catch (error) {
      this.#failExchange(502, `malformed response from the application: ${describeError(error)}`);
      return;
    }
    this.#flushClient();
    if (pos === -1 || this.#closed) return;
    if (pos < buf.length) {
      this.#onAppGone('the application sent bytes outside any response');
      if (this.#closed) return;
    }
    if (this.#request !== undefined) return;
    if (this.#held !== undefined) this.#continueClient();
    else if (this.#clientEnded) this.#close(true);
  };

  /**
   * Processes application bytes: interim and final response heads and bodies.
   * Returns how far it got, or -1 once the bytes went to a byte relay.
   */
  #consumeResponses(buf: Buffer): number {
    const end = buf.length;
    let pos = 0;
    while (pos < end && !this.#closed) {
      if (this.#request === undefined || this.#responseDone) return pos;
      if (this.#responseHead) {
        const bodyEnd = this.#responseBody.advance(buf, pos, end);
        if (bodyEnd > pos) this.#forward(buf, pos, bodyEnd);
        pos = bodyEnd;
        if (this.#responseBody.done) this.#finishResponse();
        continue;
      }
      const headEnd = findHeadEnd(buf, pos, this.#context.limits);
      if (headEnd === -1) {
        this.#partialResponse = Buffer.from(buf.subarray(pos));
        return end;
      }
      const head = parseResponseHead(buf, pos, headEnd, { limits: this.#context.limits });
      const status = head.status;
      const switching = status === 101 || (this.#method === 'CONNECT' && status >= 200 && status < 300);
      if (switching && this.#tunnel) {
        this.#forward(buf, pos, end);
        this.#startTunnel(status);
        return -1;
      }
      if (status === 101)
        throw new Http1Error('E_HTTP1_UPGRADE', '101 Switching Protocols to a request without Upgrade');
      this.#forward(buf, pos, headEnd);
      pos = headEnd;
      if (status < 200) continue; // interim (100 Continue, 103 Early Hints): the final head follows
      this.#responseHead = true;
      this.#status = status;
      this.#grpcStatus = head.grpcStatus;
      this.#context.recorder.responded(this.#request);
      const framing = responseFraming(head, status, this.#method);
      if (framing === 'close' || head.close || (head.minorVersion === 0 && !head.keepAlive)) {
        this.#closeAfter = true;
      }
      this.#responseBody.start(framing, head.contentLength);
      if (this.#responseBody.done) this.#finishResponse();
    }
    return pos;
  }

  /** Passes application bytes on; contiguous ones go out in one write (see #flushClient). */
  #forward(buf: Buffer, start: number, end: number): void {
    this.#sentToClient = true;
    if (this.#outBuf === buf && this.#outEnd === start) {
      this.#outEnd = end;
      return;
    }
    this.#flushClient();
    this.#outBuf = buf;
    this.#outStart = start;
    this.#outEnd = end;
  }

  #flushClient(): void {
    const buf = this.#outBuf;
    if (buf === undefined) return;
    this.#outBuf = undefined;
    // During a read, the read's buffer serves a later read once every write holding it is done
    // (see reused-buffer.ts).
    const release = this.#keepRead?.();
    if (!this.#client.write(buf.subarray(this.#outStart, this.#outEnd), release)) this.#app?.pause();
  }

  #onClientDrain = (): void => {
    this.#app?.resume();
  };

  #finishResponse(): void {
    this.#responseDone = true;
    this.#context.recorder.done(
      this.#caller,
      this.#request as InboundRequest,
      this.#status,
      this.#grpcStatus,
      '',
    );
    if (this.#requestBody.done) this.#finishExchange();
    else if (this.#closeAfter) this.#close(true);
  }

  /** Both bodies are complete: close if either side asked to, else get ready for the next request. */
  #finishExchange(): void {
    this.#request = undefined;
    this.#appServed++;
    if (this.#closeAfter) this.#close(true);
  }

  /** Processes requests the client sent while the last exchange was in flight. */
  #continueClient(): void {
    const held = this.#held as Buffer;
    this.#held = undefined;
    this.#consumeClient(held, 0);
  }

  #onAppEnd = (): void => {
    if (
      this.#request &&
      this.#responseHead &&
      this.#responseBody.framing === 'close' &&
      !this.#responseDone
    ) {
      this.#responseBody.done = true;
      this.#finishResponse();
      this.#close(true);
      return;
    }
    this.#onAppGone('the application closed the connection');
  };

  #onAppError = (error: Error): void => {
    this.#onAppGone(describeError(error));
  };

  #onAppClose = (): void => {
    this.#onAppGone('the application connection closed');
  };

  #onAppGone(reason: string): void {
    if (this.#closed || this.#app === undefined) return;
    this.#dropApp();
    if (this.#request === undefined) {
      this.#context.log.debug('application closed an idle connection', { port: this.#caller.port, reason });
      return; // the next request opens a new connection
    }
    if (this.#responseDone) {
      // The response went out whole; the rest of the request body has nowhere to go.
      this.#request = undefined;
      this.#close(true);
      return;
    }
    const resend = this.#resend;
    if (resend !== undefined) {
      this.#resend = undefined;
      this.#context.log.debug('application closed a reused connection before answering; sending again', {
        port: this.#caller.port,
        reason,
      });
      this.#retryHead = resend;
      this.#connect();
      return;
    }
    this.#failExchange(502, reason);
  }

  #dropApp(): void {
    const app = this.#app;
    if (!app) return;
    this.#app = undefined;
    app.off('end', this.#onAppEnd);
    app.off('error', this.#onAppError);
    app.off('close', this.#onAppClose);
    app.off('drain', this.#onAppDrain);
    app.on('error', () => {});
    app.destroy();
    this.#appFull = false;
  }

  // ---- endings ---------------------------------------------------------------

  /**
   * Ends the exchange in flight with an error: the client gets `status` if
   * nothing of a response went out yet; the connection closes either way.
   */
  #failExchange(status: 400 | 502, reason: string): void {
    if (this.#closed) return;
    if (this.#request && !this.#responseDone) {
      if (status === 502) {
        this.#context.log.info('request to application failed', { port: this.#caller.port, error: reason });
      }
      this.#context.recorder.done(this.#caller, this.#request, this.#status || status, undefined, reason);
    }
    this.#request = undefined;
    if (this.#sentToClient) {
      this.#close(false);
      return;
    }
    this.#client.end(simpleResponse(status, status === 400 ? 'Bad Request' : 'Bad Gateway', reason));
    this.#close(false, true);
  }

  #startTunnel(status: number): void {
    this.#flushClient();
    const app = this.#app as net.Socket;
    const client = this.#client;
    const request = this.#request as InboundRequest;
    this.#context.recorder.responded(request);
    this.#context.recorder.done(this.#caller, request, status, undefined, '');
    this.#request = undefined;
    this.#detach();
    app.off('end', this.#onAppEnd);
    app.off('error', this.#onAppError);
    app.off('close', this.#onAppClose);
    app.off('drain', this.#onAppDrain);
    app.off('data', this.#onAppData);
    this.#app = undefined;
    this.#closed = true;
    const held = this.#held;
    this.#held = undefined;
    if (held) app.write(held);
    this.#context.released(this);
    relay(client, app, undefined, this.#context.idleTimeoutMs);
  }

  /** Stops listening to the client. */
  #detach(): void {
    const client = this.#client;
    client.off('data', this.#onClientData);
    client.off('end', this.#onClientEnd);
    client.off('error', this.#onClientGone);
    client.off('close', this.#onClientGone);
    client.off('drain', this.#onClientDrain);
    client.on('error', () => {});
  }

  /**
   * Closes both connections: `graceful` lets queued writes to the client go
   * out first; `ended` says the client was already ended with a final write.
   */
  #close(graceful: boolean, ended = false): void {
    if (this.#closed) return;
    if (graceful) this.#flushClient();
    this.#outBuf = undefined;
    this.#closed = true;
    this.#request = undefined;
    this.#held = undefined;
    this.#dropApp();
    this.#detach();
    const client = this.#client;
    if (graceful || ended) lingerClose(client, ended);
    else client.destroy();
    this.#context.released(this);
  }
}

/**
 * The end of every request head: the verified identity field (none for a
 * caller without one, or with one that could not be a field value: a
 * forwarded identity is the gateway's word), then the blank line.
 */
function identityLines(caller: InboundCaller, log: Logger): string {
  if (!caller.clientId) return '\r\n';
  if (!/^[\x21-\x7e]+$/.test(caller.clientId)) {
    log.warn('caller identity is not a valid header value; the application gets none', {
      client: caller.source,
      identity: JSON.stringify(caller.clientId),
    });
    return '\r\n';
  }
  return `${CLIENT_ID_HEADER}: ${caller.clientId}\r\n\r\n`;
}

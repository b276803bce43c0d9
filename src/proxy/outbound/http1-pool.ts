import type { Socket } from 'node:net';
import { ProxyError } from '../errors.ts';
import { attachReadSink, type KeepRead } from '../transport/reused-buffer.ts';
import { type ResponseEvents, ResponseParser, type UpstreamHead } from './http1-response.ts';

/** One request as the pool sees it: where its connection and its response go. */
export interface Http1Exchange extends ResponseEvents {
  /** A HEAD request: its response has no body whatever its headers say. */
  readonly head: boolean;
  /** Set when the request no longer wants a connection (timed out, client gone). */
  readonly cancelled: boolean;
  /** A connection is this request's until its response ends: write the request to it. */
  onConnection(connection: Http1Connection): void;
  /**
   * The exchange failed. `sent`: a connection was assigned, so the server
   * may have seen the request; otherwise nothing was sent anywhere.
   */
  onExchangeError(error: unknown, sent: boolean): void;
}

/**
 * One keep-alive HTTP/1.1 connection to an upstream, carrying one request at
 * a time. Request heads are written in one write, bodies as they come.
 */
export class Http1Connection {
  readonly #socket: Socket;
  readonly #pool: Http1Pool;
  readonly #parser: ResponseParser;
  #exchange: Http1Exchange | undefined;
  #requestDone = false;
  #error: Error | undefined;
  /** During a read into the socket's reused buffer: keeps that buffer for a write of the body. */
  #keepRead: KeepRead | undefined;
  /** When the connection last went back to the pool's idle set (performance.now()). */
  idleSince = 0;

  constructor(pool: Http1Pool, socket: Socket) {
    this.#pool = pool;
    this.#socket = socket;
    this.#parser = new ResponseParser(this);
    // Bytes read before the sink was attached, or every read of a socket without a reused buffer.
    socket.on('data', (data: Buffer) => this.#onData(data));
    attachReadSink(socket, this.#onRead);
    socket.on('end', () => this.#onEnd());
    socket.on('error', (error) => {
      this.#error = error;
    });
    socket.on('close', () => this.#onClose());
  }

  get busy(): boolean {
    return this.#exchange !== undefined;
  }

  /** Still open both ways (a closed one may wait in the idle set until its close event). */
  get usable(): boolean {
    return !this.#socket.destroyed && this.#socket.writable && this.#socket.readable;
  }

  assign(exchange: Http1Exchange): void {
    this.#exchange = exchange;
    this.#requestDone = false;
    this.#parser.expect(exchange.head);
    exchange.onConnection(this);
  }

  /** Writes a whole request: its head and its complete body, in one write. */
  send(head: Buffer | string, body?: Buffer): void {
    const socket = this.#socket;
    if (body && body.length > 0) {
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body);
      socket.uncork();
    } else socket.write(head, 'latin1');
    this.#requestDone = true;
  }

  /** Writes a request head whose body follows, framed as the head says, through `writeBody`/`endBody`. */
  sendHead(head: Buffer | string): void {
    this.#socket.write(head, 'latin1');
  }

  /** Writes body bytes; false when the caller should wait for `onDrain`. */
  writeBody(chunk: Buffer): boolean {
    return this.#socket.write(chunk);
  }

  /** Calls `listener` once the socket can take more body bytes. */
  onDrain(listener: () => void): void {
    this.#socket.once('drain', listener);
  }

  /** The request body is complete. */
  endBody(): void {
    this.#requestDone = true;
  }

  /** Stops reading the response (the client is slow); `resume` reads on. */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /** Ends the exchange early: the connection closes, as it may hold half a response. */
  destroy(): void {
    this.#exchange = undefined;
    this.#socket.destroy();
  }

  onResponseHead(head: UpstreamHead): void {
    this.#exchange?.onResponseHead(head);
  }

  onResponseBody(chunk: Buffer): void {
    this.#exchange?.onResponseBody(chunk, this.#keepRead);
  }

  onResponseEnd(trailers: string[], reusable: boolean): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    exchange?.onResponseEnd(trailers, reusable);
    // A response that came before the whole request was sent leaves the connection mid-request.
    if (reusable && this.#requestDone && !this.#socket.destroyed) {
      this.#socket.resume();
      this.#pool.release(this);
    } else this.#socket.destroy();
  }

  #onRead = (chunk: Buffer, keep: KeepRead): boolean => {
    this.#keepRead = keep;
    this.#onData(chunk);
    this.#keepRead = undefined;
    // A paused socket (the client reads slowly) has stopped reading already.
    return true;
  };

  #onData(data: Buffer): void {
    try {
      this.#parser.execute(data);
    } catch (error) {
      this.#fail(error);
    }
  }

  #onEnd(): void {
    if (!this.#exchange) {
      this.#socket.destroy();
      return;
    }
    try {
      this.#parser.finish();
    } catch (error) {
      this.#fail(error);
    }
    this.#socket.destroy();
  }

  #onClose(): void {
    this.#pool.forget(this);
    if (this.#exchange) {
      this.#fail(
        new ProxyError(
          'E_UPSTREAM_CLOSED',
          `the upstream connection closed before the response was complete${this.#error ? `: ${this.#error.message}` : ''}`,
          this.#error ? { cause: this.#error } : {},
        ),
      );
    }
  }

  #fail(error: unknown): void {
    const exchange = this.#exchange;
    this.#exchange = undefined;
    this.#socket.destroy();
    exchange?.onExchangeError(error, true);
  }
}

/**
 * Keep-alive HTTP/1.1 connections to one upstream endpoint: a request takes
 * the most recently used idle connection, else a new one. Idle connections
 * close after `idleMs` (up to a quarter more) or when the upstream closes them.
 * One sweep per pool finds them, instead of a socket timeout that every read
 * and write would have to push back.
 */
export class Http1Pool {
  readonly idleMs: number;
  readonly #connect: () => Promise<Socket>;
  readonly #onEmpty: (() => void) | undefined;
  /** Oldest first: a request takes the last one, a released connection goes last. */
  readonly #idle: Http1Connection[] = [];
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  /**
   * `connect` opens a ready connection (mTLS and transport header already done
   * for meshed endpoints); `onEmpty` runs when a connection closes and none is
   * left idle, so the owner can let go of a pool nobody uses.
   */
  constructor(connect: () => Promise<Socket>, idleMs: number, onEmpty?: () => void) {
    this.#connect = connect;
    this.idleMs = idleMs;
    this.#onEmpty = onEmpty;
  }

  /** Finds a connection for `exchange` and hands it over through `onConnection`. */
  request(exchange: Http1Exchange): void {
    for (let idle = this.#idle.pop(); idle; idle = this.#idle.pop()) {
      if (idle.usable) {
        idle.assign(exchange);
        return;
      }
    }
    this.#connect().then(
      (socket) => {
        const connection = new Http1Connection(this, socket);
        if (exchange.cancelled) this.release(connection);
        else connection.assign(exchange);
      },
      (error: unknown) => {
        if (!exchange.cancelled) exchange.onExchangeError(error, false);
      },
    );
  }

  /** Takes back a connection whose exchange ended cleanly. */
  release(connection: Http1Connection): void {
    if (this.#closed) {
      connection.destroy();
      return;
    }
    connection.idleSince = performance.now();
    this.#idle.push(connection);
    if (!this.#sweeper) {
      this.#sweeper = setInterval(() => this.#sweep(), this.idleMs / 4);
      this.#sweeper.unref();
    }
  }

  /** Closes the connections idle for `idleMs` or longer; stops sweeping once none is idle. */
  #sweep(): void {
    const cutoff = performance.now() - this.idleMs;
    let expired = 0;
    while (expired < this.#idle.length && (this.#idle[expired] as Http1Connection).idleSince <= cutoff)
      expired++;
    for (const connection of this.#idle.splice(0, expired)) connection.destroy();
    if (this.#idle.length === 0) this.#stopSweeping();
  }

  #stopSweeping(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /** Drops a closed connection from the idle set. */
  forget(connection: Http1Connection): void {
    const i = this.#idle.indexOf(connection);
    if (i >= 0) this.#idle.splice(i, 1);
    if (this.#idle.length === 0) this.#onEmpty?.();
  }

  /** Closes idle connections now and busy ones once their exchange ends. */
  close(): void {
    this.#closed = true;
    this.#stopSweeping();
    for (const connection of this.#idle.splice(0)) connection.destroy();
  }
}

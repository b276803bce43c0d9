import type { Duplex } from 'node:stream';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from '../http1/head.ts';
import { Http1Sweeper } from '../http1/timeouts.ts';
import type { Logger } from '../log.ts';
import type { InboundCaller } from './client-id.ts';
import { Http1InboundConnection } from './http1-connection.ts';
import type { InboundRecorder } from './record.ts';

/** How long a client may take to send a whole request head (Node's own headersTimeout). */
const HEAD_TIMEOUT_MS = 10_000;

/**
 * Serves inbound HTTP/1.1 connections request by request: each connection
 * is relayed to the application over a connection of its own by
 * Http1InboundConnection (verified caller in `strait-client-id`, each request
 * counted and tapped). One instance serves every connection of a listener;
 * one timer per listener, running while it has connections, enforces the
 * head and idle timeouts.
 */
export function createHttp1Inbound(options: {
  appHost: string;
  log: Logger;
  recorder: InboundRecorder;
  connectTimeoutMs: number;
  /** Close connections idle (no request in flight, no bytes) this long; 0: never. */
  idleTimeoutMs: number;
  limits?: HeadLimits;
}) {
  const sweeper = new Http1Sweeper<Http1InboundConnection>(HEAD_TIMEOUT_MS, options.idleTimeoutMs);
  const context = {
    appHost: options.appHost,
    log: options.log,
    recorder: options.recorder,
    connectTimeoutMs: options.connectTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
    limits: options.limits ?? DEFAULT_HEAD_LIMITS,
    released: (connection: Http1InboundConnection) => sweeper.delete(connection),
  };
  return {
    /** Serves one connection (after its transport header, if any) from `caller`. */
    serve(connection: Duplex, caller: InboundCaller): void {
      sweeper.add(new Http1InboundConnection(connection, caller, context));
    },
  };
}

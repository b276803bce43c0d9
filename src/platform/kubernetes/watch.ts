import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { StraitError } from '../../core/errors.ts';
import type { Resource } from '../../core/resource.ts';
import type { WatchEvent } from '../../core/store.ts';
import type { KubeClient } from './client.ts';
import { asStatus, errorFromResponse } from './errors.ts';

/** Why one watch connection ended without an error. */
export type WatchEnd = 'closed' | 'stalled';

/** One watch connection: `/…/services?watch=1&resourceVersion=…`. */
export interface WatchConnection {
  client: KubeClient;
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  resourceVersion: string;
  /** Names the watched collection in errors. */
  what: string;
  /** `links.multicluster.strait.io`, for KindNotServedError. */
  resource: string;
  /** No bytes (events or bookmarks) for this long means the connection is dead. */
  idleMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Streams the events of one watch connection until the server closes it
 * (`closed`), nothing arrives for `idleMs` (`stalled`) or `signal` aborts
 * (the generator returns). An expired resourceVersion — a 410 status or an
 * ERROR event with code 410 — throws WatchExpiredError; other failures throw
 * the mapped store error.
 */
export async function* watchConnection(connection: WatchConnection): AsyncGenerator<WatchEvent, WatchEnd> {
  const local = new AbortController();
  const signal = connection.signal ? AbortSignal.any([connection.signal, local.signal]) : local.signal;
  const response = await connection.client.stream({
    method: 'GET',
    path: connection.path,
    query: { ...connection.query, watch: 1, resourceVersion: connection.resourceVersion },
    signal,
  });
  if (response.statusCode !== 200) {
    const body = await readAll(response);
    throw errorFromResponse(connection.what, response.statusCode ?? 0, body, {
      resourceVersion: connection.resourceVersion,
      resource: connection.resource,
    });
  }
  let stalled = false;
  let timer = setTimeout(stall, connection.idleMs);
  function stall(): void {
    stalled = true;
    local.abort();
  }
  const lines = createInterface({ input: response, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      // The watchdog measures the server's silence, not the time the consumer takes.
      clearTimeout(timer);
      if (line.trim() !== '') {
        const event = parseEvent(connection.what, line);
        if (event.type === 'ERROR') {
          const status = asStatus(event.object);
          throw errorFromResponse(connection.what, status?.code ?? 500, status, {
            resourceVersion: connection.resourceVersion,
          });
        }
        yield event as WatchEvent;
      }
      timer = setTimeout(stall, connection.idleMs);
    }
    return stalled ? 'stalled' : 'closed';
  } catch (error) {
    if (stalled) return 'stalled';
    if (connection.signal?.aborted) return 'closed';
    throw error;
  } finally {
    clearTimeout(timer);
    lines.close();
    response.destroy();
  }
}

function parseEvent(what: string, line: string): { type: string; object: Resource } {
  try {
    const event = JSON.parse(line) as { type?: unknown; object?: unknown };
    if (typeof event.type === 'string' && typeof event.object === 'object' && event.object !== null) {
      return event as { type: string; object: Resource };
    }
  } catch {}
  throw new StraitError(
    'E_KUBE_WATCH',
    `watch of ${what}: malformed event ${JSON.stringify(line.slice(0, 120))}`,
  );
}

async function readAll(response: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

import http2 from 'node:http2';
import { stringify as toYaml } from 'yaml';
import { StraitError } from '../../../core/errors.ts';
import { type KindInfo, kindInfo } from '../../../core/kinds.ts';
import { describeRef, type KindRef, type ObjectRef, type Resource } from '../../../core/resource.ts';
import { formatSelector } from '../../../core/selector.ts';
import type {
  ApplyOptions,
  DeleteOptions,
  ListOptions,
  ListResult,
  ResourceStore,
  WatchEvent,
  WatchOptions,
} from '../../../core/store.ts';
import { resourcePath } from './paths.ts';
import { errorOf, type StatusBody } from './status.ts';

export interface ApiClientOptions {
  /** `https://127.1.0.1:6443`. */
  server: string;
  /** PEM bundle the server's certificate must chain to. */
  ca: string;
  /** Bearer token, or a function giving the current one (for refreshed tokens). */
  token: string | (() => string | Promise<string>);
  /** Name to check the server's certificate against, when not the host of `server`. */
  servername?: string;
}

/** A ResourceStore backed by another cluster's store API, plus the raw request it is built on. */
export interface ApiStore extends ResourceStore {
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown>;
  close(): void;
}

/**
 * Talks to a store API (the local platform's, or anything Kubernetes-shaped
 * that serves the same paths) over one HTTP/2 connection, re-opened when it
 * drops. Failures come back as the store interface's error classes.
 */
export function createApiStore(options: ApiClientOptions): ApiStore {
  const origin = new URL(options.server);
  let session: http2.ClientHttp2Session | undefined;
  // The connection keeps the process alive only while requests are in flight.
  let active = 0;

  function connect(): http2.ClientHttp2Session {
    if (session && !session.closed && !session.destroyed) return session;
    const opened = http2.connect(origin.origin, {
      ca: options.ca,
      ...(options.servername ? { servername: options.servername } : {}),
    });
    opened.on('error', () => {});
    opened.once('close', () => {
      if (session === opened) session = undefined;
    });
    session = opened;
    return opened;
  }

  async function open(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; stream: http2.ClientHttp2Stream }> {
    const token = typeof options.token === 'string' ? options.token : await options.token();
    const stream = connect().request(
      {
        ':method': method,
        ':path': path,
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': contentType } : {}),
      },
      signal ? { signal } : {},
    );
    active++;
    session?.ref();
    stream.once('close', () => {
      active--;
      if (active === 0 && session && !session.closed) session.unref();
    });
    if (body !== undefined) stream.end(body);
    else stream.end();
    const status = await new Promise<number>((resolve, reject) => {
      stream.once('response', (headers) => resolve(Number(headers[':status'])));
      stream.once('error', (error) =>
        reject(
          new StraitError('E_API_UNREACHABLE', `${options.server}: ${error.message}`, {
            hint: 'is the cluster up? see `strait local status`',
            cause: error,
          }),
        ),
      );
    });
    return { status, stream };
  }

  async function request(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    what = path,
  ): Promise<unknown> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const { status, stream } = await open(method, path, text, contentType);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status >= 400) throw errorOf(status, parsed as Partial<StatusBody> | undefined, what);
    return parsed;
  }

  const info = (ref: KindRef): KindInfo => {
    const found = kindInfo(ref);
    if (!found) throw new StraitError('E_UNKNOWN_KIND', `kind ${ref.apiVersion}/${ref.kind} is not known`);
    return found;
  };
  const objectPath = (ref: ObjectRef, subresource?: string) =>
    resourcePath(info(ref), { namespace: ref.namespace, name: ref.name, subresource });
  const refOfObject = (object: Resource): ObjectRef => ({
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
  });
  const query = (options?: ListOptions, extra: Record<string, string> = {}) => {
    const params = new URLSearchParams(extra);
    if (options?.labelSelector !== undefined) {
      const text = formatSelector(options.labelSelector);
      if (text) params.set('labelSelector', text);
    }
    const string = params.toString();
    return string ? `?${string}` : '';
  };

  return {
    request: (method, path, body, contentType) => request(method, path, body, contentType),
    close() {
      session?.close();
    },
    async get<T extends Resource = Resource>(ref: ObjectRef): Promise<T | undefined> {
      try {
        return (await request('GET', objectPath(ref), undefined, undefined, describeRef(ref))) as T;
      } catch (error) {
        if ((error as StraitError).code === 'E_NOT_FOUND') return undefined;
        throw error;
      }
    },
    async list<T extends Resource = Resource>(
      kind: KindRef,
      listOptions?: ListOptions,
    ): Promise<ListResult<T>> {
      const path = resourcePath(info(kind), { namespace: listOptions?.namespace }) + query(listOptions);
      const list = (await request('GET', path, undefined, undefined, kind.kind)) as {
        items: T[];
        metadata: { resourceVersion: string };
      };
      return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    watch<T extends Resource = Resource>(
      kind: KindRef,
      watchOptions?: WatchOptions,
    ): AsyncIterable<WatchEvent<T>> {
      const extra: Record<string, string> = { watch: '1' };
      if (watchOptions?.resourceVersion) extra.resourceVersion = watchOptions.resourceVersion;
      if (watchOptions?.allowBookmarks) extra.allowWatchBookmarks = 'true';
      const path =
        resourcePath(info(kind), { namespace: watchOptions?.namespace }) + query(watchOptions, extra);
      return streamEvents<T>(path, kind.kind, watchOptions?.signal);
    },
    async create<T extends Resource>(object: T): Promise<T> {
      const ref = refOfObject(object);
      const path = resourcePath(info(ref), { namespace: ref.namespace });
      return (await request('POST', path, object, undefined, describeRef(ref))) as T;
    },
    async update<T extends Resource>(object: T): Promise<T> {
      const ref = refOfObject(object);
      return (await request('PUT', objectPath(ref), object, undefined, describeRef(ref))) as T;
    },
    async apply<T extends Resource>(object: T, applyOptions: ApplyOptions): Promise<T> {
      const ref = refOfObject(object);
      const params = new URLSearchParams({ fieldManager: applyOptions.fieldManager });
      if (applyOptions.force) params.set('force', 'true');
      const path = `${objectPath(ref)}?${params}`;
      return (await request(
        'PATCH',
        path,
        toYaml(object),
        'application/apply-patch+yaml',
        describeRef(ref),
      )) as T;
    },
    async patch<T extends Resource = Resource>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T> {
      return (await request(
        'PATCH',
        objectPath(ref),
        patch,
        'application/merge-patch+json',
        describeRef(ref),
      )) as T;
    },
    async updateStatus<T extends Resource>(object: T): Promise<T> {
      const ref = refOfObject(object);
      return (await request('PUT', objectPath(ref, 'status'), object, undefined, describeRef(ref))) as T;
    },
    async delete(ref: ObjectRef, deleteOptions?: DeleteOptions): Promise<boolean> {
      try {
        await request('DELETE', objectPath(ref), deleteOptions ?? undefined, undefined, describeRef(ref));
        return true;
      } catch (error) {
        if ((error as StraitError).code === 'E_NOT_FOUND') return false;
        throw error;
      }
    },
  };

  async function* streamEvents<T extends Resource>(
    path: string,
    what: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<WatchEvent<T>> {
    if (signal?.aborted) return;
    const { status, stream } = await open('GET', path, undefined, 'application/json', signal);
    if (status >= 400) {
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      let body: Partial<StatusBody> | undefined;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<StatusBody>;
      } catch {}
      throw errorOf(status, body, what);
    }
    let buffered = '';
    try {
      for await (const chunk of stream) {
        buffered += (chunk as Buffer).toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (!line.trim()) continue;
          const event = JSON.parse(line) as { type: string; object: unknown };
          if (event.type === 'ERROR') {
            const body = event.object as Partial<StatusBody>;
            throw errorOf(body.code ?? 500, body, what);
          }
          yield event as WatchEvent<T>;
        }
      }
    } catch (error) {
      if (signal?.aborted) return;
      if ((error as { code?: string }).code === 'ABORT_ERR') return;
      throw error;
    } finally {
      stream.close();
    }
    if (!signal?.aborted) {
      throw new StraitError('E_WATCH_CLOSED', `watch of ${what} was closed by the server`, {
        hint: 'watch again from the last resourceVersion seen',
      });
    }
  }
}

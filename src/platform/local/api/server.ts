import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { ServiceAccount } from '../../../core/api/core.ts';
import { StraitError } from '../../../core/errors.ts';
import { Kinds } from '../../../core/kinds.ts';
import { describeRef, groupOf, type Resource } from '../../../core/resource.ts';
import { ForbiddenError, NotFoundError, type ResourceStore } from '../../../core/store.ts';
import { createAuthenticator } from './authenticate.ts';
import { discoveryDocument } from './discovery.ts';
import { parseFieldSelector } from './field-selector.ts';
import { openApiDocument } from './openapi.ts';
import { type ApiPath, parseApiPath } from './paths.ts';
import { authorize, type RequestAttributes, type UserInfo } from './rbac.ts';
import { MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS, type ServiceAccountTokens } from './service-account-token.ts';
import { statusOf } from './status.ts';
import { patchStrategically } from './strategic-patch.ts';
import { tableOf, wantsTable } from './table.ts';

type Request = http2.Http2ServerRequest;
type Response = http2.Http2ServerResponse;

export interface ApiServerOptions {
  store: ResourceStore;
  host: string;
  /** 0 picks a free port. */
  port: number;
  tls: { cert: string; key: string };
  /** Bearer token of the cluster admin. */
  adminToken: string;
  tokens: ServiceAccountTokens;
  /** One line per refused or failed request. */
  log?: (line: string) => void;
}

export interface ApiServer {
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Serves a store as Kubernetes-style REST over HTTP/2 + TLS (HTTP/1.1 too,
 * for curl): get, list with labelSelector, watch as newline-delimited JSON
 * events, create, update, the status subresource, merge patch, server-side
 * apply (application/apply-patch+yaml), delete, TokenRequest for
 * ServiceAccounts, and kubectl's discovery documents. Every request is
 * authenticated, and every resource request authorized by RBAC.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const authenticator = createAuthenticator(options);
  const log = options.log ?? (() => {});
  const server = http2.createSecureServer(
    { cert: options.tls.cert, key: options.tls.key, allowHTTP1: true, minVersion: 'TLSv1.2' },
    (request, response) => {
      handle(request, response).catch((error: unknown) => fail(response, error));
    },
  );
  server.on('sessionError', () => {});

  async function handle(request: Request, response: Response): Promise<void> {
    const url = new URL(request.url, 'https://api');
    if (url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/livez') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    // As on Kubernetes, anyone may read the version.
    const version = url.pathname === '/version' ? discoveryDocument(url.pathname, undefined) : undefined;
    if (version) return send(response, 200, version.body);
    let user: UserInfo;
    try {
      user = await authenticator.authenticate(request.headers.authorization);
    } catch (error) {
      log(`${request.method} ${url.pathname}: ${(error as Error).message}`);
      throw error;
    }
    const discovery =
      request.method === 'GET' ? discoveryDocument(url.pathname, request.headers.accept) : undefined;
    if (discovery) return send(response, 200, discovery.body, discovery.contentType);
    const openApi = request.method === 'GET' ? openApiDocument(url.pathname) : undefined;
    if (openApi !== undefined) {
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(openApi),
      });
      response.end(openApi);
      return;
    }
    const path = parseApiPath(url.pathname);
    const attributes = attributesOf(request.method, path, url);
    const selfTokenRefresh =
      attributes.resource === 'serviceaccounts/token' &&
      user.serviceAccount?.namespace === path.namespace &&
      user.serviceAccount?.name === path.name;
    if (!selfTokenRefresh && !(await authorize(options.store, user, attributes))) {
      log(`forbidden: ${user.name} ${attributes.verb} ${attributes.resource} in ${path.namespace ?? '*'}`);
      throw new ForbiddenError(
        `${attributes.resource}${path.name ? ` "${path.name}"` : ''}`,
        `User "${user.name}" cannot ${attributes.verb} resource "${attributes.resource}" in API group "${attributes.apiGroup}"${
          path.namespace ? ` in the namespace "${path.namespace}"` : ' at the cluster scope'
        }`,
      );
    }
    await serve(request, response, path, url, attributes);
  }

  async function serve(
    request: Request,
    response: Response,
    path: ApiPath,
    url: URL,
    attributes: RequestAttributes,
  ): Promise<void> {
    const { store } = options;
    const ref = { apiVersion: path.kind.apiVersion, kind: path.kind.kind, name: path.name ?? '' };
    const objectRef = path.namespace === undefined ? ref : { ...ref, namespace: path.namespace };
    switch (attributes.verb) {
      case 'get': {
        const object = await store.get(objectRef);
        if (!object) throw new NotFoundError(describeRef(objectRef));
        if (wantsTable(request.headers.accept)) return send(response, 200, tableOf(path.kind, [object]));
        return send(response, 200, object);
      }
      case 'list': {
        const selected = fieldSelection(path, url);
        const result = await store.list(path.kind, listOptions(path, url));
        const items = selected ? result.items.filter(selected) : result.items;
        if (wantsTable(request.headers.accept)) {
          return send(response, 200, tableOf(path.kind, items, { resourceVersion: result.resourceVersion }));
        }
        return send(response, 200, {
          apiVersion: path.kind.apiVersion,
          kind: `${path.kind.kind}List`,
          metadata: { resourceVersion: result.resourceVersion },
          items,
        });
      }
      case 'watch':
        return watch(request, response, path, url);
      case 'create': {
        if (path.subresource === 'token') return tokenRequest(request, response, path);
        const object = belongsHere(await readJson(request), path);
        return send(response, 201, await store.create(object));
      }
      case 'update': {
        const object = belongsHere(await readJson(request), path);
        if (path.subresource === 'status') return send(response, 200, await store.updateStatus(object));
        return send(response, 200, await store.update(object));
      }
      case 'patch': {
        const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim();
        if (type === 'application/apply-patch+yaml') {
          const fieldManager = url.searchParams.get('fieldManager');
          if (!fieldManager) throw new StraitError('E_API_REQUEST', 'apply needs the fieldManager parameter');
          const object = belongsHere(await readYaml(request), path);
          const force = url.searchParams.get('force') === 'true';
          return send(response, 200, await store.apply(object, { fieldManager, force }));
        }
        if (type === 'application/strategic-merge-patch+json') {
          return send(response, 200, await patchStrategically(store, objectRef, await readJson(request)));
        }
        if (type === 'application/merge-patch+json' || type === 'application/json') {
          const patch = await readJson(request);
          return send(response, 200, await store.patch(objectRef, patch));
        }
        throw new StraitError('E_API_REQUEST', `patch type "${type}" is not supported`, {
          hint: 'use application/merge-patch+json, application/strategic-merge-patch+json or application/apply-patch+yaml',
        });
      }
      case 'delete': {
        const body = await readBody(request);
        const deleteOptions = body.length > 0 ? (JSON.parse(body.toString('utf8')) as object) : {};
        const deleted = await store.delete(objectRef, deleteOptions);
        if (!deleted) throw new NotFoundError(describeRef(objectRef));
        return send(response, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          code: 200,
        });
      }
    }
  }

  async function watch(request: Request, response: Response, path: ApiPath, url: URL): Promise<void> {
    const selected = fieldSelection(path, url);
    const controller = new AbortController();
    request.once('close', () => controller.abort());
    const watchOptions = {
      ...listOptions(path, url),
      signal: controller.signal,
      allowBookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
      ...(url.searchParams.get('resourceVersion')
        ? { resourceVersion: url.searchParams.get('resourceVersion') as string }
        : {}),
    };
    response.writeHead(200, { 'content-type': 'application/json' });
    try {
      const table = wantsTable(request.headers.accept);
      let withColumns = true;
      for await (const event of options.store.watch(path.kind, watchOptions)) {
        if (selected && event.type !== 'BOOKMARK' && !selected(event.object)) continue;
        if (table && event.type !== 'BOOKMARK') {
          const rows = tableOf(path.kind, [event.object], { withColumns });
          withColumns = false;
          response.write(`${JSON.stringify({ type: event.type, object: rows })}\n`);
        } else response.write(`${JSON.stringify(event)}\n`);
      }
    } catch (error) {
      if (!controller.signal.aborted)
        response.write(`${JSON.stringify({ type: 'ERROR', object: statusOf(error) })}\n`);
    }
    response.end();
  }

  async function tokenRequest(request: Request, response: Response, path: ApiPath): Promise<void> {
    if (path.kind.kind !== 'ServiceAccount' || !path.namespace || !path.name) {
      throw new NotFoundError(`subresource token of ${path.kind.kind}`);
    }
    const body = (await readJson(request)) as { spec?: { expirationSeconds?: number } };
    const account = await options.store.get<ServiceAccount>({
      ...Kinds.ServiceAccount,
      namespace: path.namespace,
      name: path.name,
    });
    if (!account?.metadata.uid) throw new NotFoundError(`ServiceAccount ${path.namespace}/${path.name}`);
    const requested = body.spec?.expirationSeconds ?? 3600;
    if (!Number.isInteger(requested) || requested < MIN_TOKEN_SECONDS) {
      throw new StraitError(
        'E_API_REQUEST',
        `spec.expirationSeconds ${requested} is invalid: the minimum is ${MIN_TOKEN_SECONDS}`,
      );
    }
    const issued = options.tokens.issue(
      { namespace: path.namespace, name: path.name, uid: account.metadata.uid },
      { expirationSeconds: Math.min(requested, MAX_TOKEN_SECONDS) },
    );
    send(response, 201, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: path.name, namespace: path.namespace },
      spec: { audiences: ['strait-api'], expirationSeconds: Math.min(requested, MAX_TOKEN_SECONDS) },
      status: issued,
    });
  }

  function fail(response: Response, error: unknown): void {
    const status = statusOf(error);
    if (status.code >= 500) log(`internal error: ${(error as Error)?.stack ?? String(error)}`);
    if (response.headersSent) {
      response.end();
      return;
    }
    send(response, status.code, status);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Every connection, HTTP/2 or HTTP/1.1 (keep-alive), so that close() does not wait on idle ones.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

function attributesOf(method: string, path: ApiPath, url: URL): RequestAttributes {
  const resource = path.subresource ? `${path.kind.plural}/${path.subresource}` : path.kind.plural;
  const base = { apiGroup: groupOf(path.kind.apiVersion), resource };
  const where = {
    ...(path.namespace !== undefined ? { namespace: path.namespace } : {}),
    ...(path.name !== undefined ? { name: path.name } : {}),
  };
  const watching = ['1', 'true'].includes(url.searchParams.get('watch') ?? '');
  const verb = (() => {
    switch (method) {
      case 'GET':
        return path.name !== undefined ? 'get' : watching ? 'watch' : 'list';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return 'delete';
    }
    throw new StraitError('E_API_REQUEST', `method ${method} is not supported`);
  })();
  if (path.name === undefined && !['list', 'watch', 'create'].includes(verb)) {
    throw new StraitError('E_API_REQUEST', `${method} needs an object name in the path`);
  }
  if (path.name !== undefined && verb === 'create' && path.subresource !== 'token') {
    throw new StraitError('E_API_REQUEST', 'POST goes to the collection, not to an object');
  }
  if (path.subresource !== undefined && !['status', 'token'].includes(path.subresource)) {
    throw new NotFoundError(`subresource "${path.subresource}" of ${path.kind.kind}`);
  }
  // Namespace-scoped lists of a cluster-scoped kind are meaningless; Kinds already refuse the path.
  return { ...base, ...where, verb };
}

/** The `fieldSelector` of a list or watch as a predicate, or undefined when there is none. */
function fieldSelection(path: ApiPath, url: URL): ((object: Resource) => boolean) | undefined {
  const selector = url.searchParams.get('fieldSelector');
  return selector ? parseFieldSelector(selector, path.kind) : undefined;
}

function listOptions(path: ApiPath, url: URL): { namespace?: string; labelSelector?: string } {
  const selector = url.searchParams.get('labelSelector');
  return {
    ...(path.namespace !== undefined ? { namespace: path.namespace } : {}),
    ...(selector ? { labelSelector: selector } : {}),
  };
}

/** Checks that a body's kind, name and namespace agree with its path, filling the namespace in. */
function belongsHere(body: Record<string, unknown>, path: ApiPath): Resource {
  const object = body as unknown as Resource;
  if (
    typeof object !== 'object' ||
    object === null ||
    typeof object.metadata !== 'object' ||
    !object.metadata
  ) {
    throw new StraitError('E_API_REQUEST', 'the body is not a resource: it has no metadata');
  }
  if (object.apiVersion !== path.kind.apiVersion || object.kind !== path.kind.kind) {
    throw new StraitError(
      'E_API_REQUEST',
      `the body is a ${object.apiVersion}/${object.kind}, the path is for ${path.kind.apiVersion}/${path.kind.kind}`,
    );
  }
  if (path.name !== undefined && object.metadata.name !== path.name) {
    throw new StraitError(
      'E_API_REQUEST',
      `the body names "${object.metadata.name}", the path "${path.name}"`,
    );
  }
  if (path.kind.namespaced) {
    if (path.namespace === undefined) throw new StraitError('E_API_REQUEST', 'the path names no namespace');
    if (object.metadata.namespace === undefined) object.metadata.namespace = path.namespace;
    if (object.metadata.namespace !== path.namespace) {
      throw new StraitError(
        'E_API_REQUEST',
        `the body's namespace "${object.metadata.namespace}" does not match the path's "${path.namespace}"`,
      );
    }
  }
  return object;
}

async function readBody(request: Request): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new StraitError('E_API_REQUEST', 'the request body is larger than 4 MiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readJson(request: Request): Promise<Record<string, unknown>> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  if (type !== '' && !type.endsWith('json')) {
    // kubectl sends protobuf for built-in kinds at first and JSON after a 415.
    throw new StraitError('E_API_MEDIA_TYPE', `the request body is ${type}; this API takes JSON`, {
      hint: 'kubectl create <kind> sends protobuf: write the object to a file and kubectl apply -f it',
    });
  }
  const text = (await readBody(request)).toString('utf8');
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new StraitError(
      'E_API_REQUEST',
      `the request body is not a JSON object: ${(error as Error).message}`,
    );
  }
}

async function readYaml(request: Request): Promise<Record<string, unknown>> {
  const text = (await readBody(request)).toString('utf8');
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new StraitError('E_API_REQUEST', `the request body is not YAML: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StraitError('E_API_REQUEST', 'the request body is not a YAML mapping');
  }
  return value as Record<string, unknown>;
}

function send(response: Response, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

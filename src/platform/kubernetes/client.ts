import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { StraitError } from '../../core/errors.ts';

/** The API server could not be reached, or the connection broke mid-request. */
export class ApiUnreachableError extends StraitError {
  constructor(server: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('E_KUBE_UNREACHABLE', `Kubernetes API server ${server} is unreachable: ${reason}`, {
      hint: 'check the kubeconfig context and that the API server is running',
      cause,
    });
    this.name = 'ApiUnreachableError';
  }
}

/** One request to the API server. */
export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the server URL, e.g. `/api/v1/namespaces/default/services`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to `application/json` when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
  /** Milliseconds before the request is abandoned; defaults to 30 s (not applied to streams). */
  timeoutMs?: number;
}

/** A complete response: HTTP status and the parsed JSON body (undefined when empty). */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/**
 * HTTPS transport to one API server, with TLS material and credentials taken
 * from a `KubeConfig` (client certificates, bearer tokens, exec plugins and
 * the other kubeconfig authenticators are all applied per request, so
 * rotating tokens keep working).
 */
export class KubeClient {
  readonly #config: KubeConfig;
  readonly server: string;

  constructor(config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) {
      throw new StraitError(
        'E_KUBECONFIG',
        `kubeconfig context "${config.getCurrentContext()}" has no cluster`,
        {
          hint: 'pick an existing context with --context',
        },
      );
    }
    this.#config = config;
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** Sends a request and reads the whole response. Non-2xx statuses are returned, not thrown. */
  async request(request: ApiRequest): Promise<ApiResponse> {
    const timeout = AbortSignal.timeout(request.timeoutMs ?? 30_000);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const response = await this.#send(request, signal);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of response) chunks.push(chunk as Buffer);
    } catch (error) {
      throw signal.aborted ? signal.reason : new ApiUnreachableError(this.server, error);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return { status: response.statusCode ?? 0, body: parseBody(text) };
  }

  /**
   * Opens a streaming request (a watch). Resolves once the status line is in;
   * the caller reads the body and must destroy it (or abort `signal`) when done.
   */
  stream(request: ApiRequest): Promise<IncomingMessage> {
    return this.#send(request, request.signal);
  }

  async #send(request: ApiRequest, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const url = new URL(this.server + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const options: https.RequestOptions = { method: request.method, headers: { Accept: 'application/json' } };
    await this.#config.applyToHTTPSOptions(options);
    const payload =
      request.body === undefined
        ? undefined
        : Buffer.from(typeof request.body === 'string' ? request.body : JSON.stringify(request.body));
    if (payload) {
      options.headers = {
        ...options.headers,
        'Content-Type': request.contentType ?? 'application/json',
        'Content-Length': payload.length,
      };
    }
    return new Promise((resolve, reject) => {
      const req = https.request(url, { ...options, ...(signal ? { signal } : {}) }, resolve);
      req.on('error', (error) =>
        reject(signal?.aborted ? signal.reason : new ApiUnreachableError(this.server, error)),
      );
      req.end(payload);
    });
  }
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

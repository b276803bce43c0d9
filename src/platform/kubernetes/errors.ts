import { StraitError } from '../../core/errors.ts';
import {
  AlreadyExistsError,
  ConflictError,
  type FieldError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  WatchExpiredError,
} from '../../core/store.ts';

/** The `Status` object the API server sends with every failure. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/** A failure the store interface has no class for (401, 429, 5xx, a malformed request). */
export class KubeApiError extends StraitError {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(what: string, status: number, apiStatus: ApiStatus | undefined) {
    const reason = apiStatus?.reason;
    const message = apiStatus?.message ?? `HTTP ${status}`;
    super(status === 401 ? 'E_KUBE_UNAUTHORIZED' : 'E_KUBE_API', `${what}: ${message}`, {
      hint:
        status === 401
          ? 'the kubeconfig credentials were refused; refresh them or pick another context'
          : status === 429 || status >= 500
            ? 'the API server is busy or failing; retry later'
            : undefined,
    });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

/** The API server does not serve a kind at all: its CRD (or API group) is not installed. */
export class KindNotServedError extends StraitError {
  readonly resource: string;
  constructor(resource: string) {
    super('E_KIND_NOT_SERVED', `the cluster does not serve ${resource}`, {
      hint: 'install Strait’s CustomResourceDefinitions (strait install) or check the kubeconfig context',
    });
    this.name = 'KindNotServedError';
    this.resource = resource;
  }
}

/**
 * Whether a 404 means the resource type is missing rather than one object:
 * an unknown group answers with plain text, an unknown resource in a known
 * group with a Status that names no object.
 */
export function isUnservedResource(body: unknown): boolean {
  const status = asStatus(body);
  return !status || (!status.details?.name && !status.details?.kind);
}

/** Reads a response body as a Status, when it is one. */
export function asStatus(body: unknown): ApiStatus | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const status = body as ApiStatus;
  return status.kind === 'Status' ? status : undefined;
}

function causesOf(status: ApiStatus | undefined): FieldError[] {
  return (status?.details?.causes ?? []).map((cause) => ({
    field: cause.field ?? '',
    reason: cause.message ?? cause.reason ?? 'invalid',
  }));
}

/**
 * Maps a failed response to the store's error classes: 404 NotFoundError
 * (KindNotServedError when `context.resource` is given and the type is missing),
 * 409 AlreadyExistsError or ConflictError, 410 WatchExpiredError, 422
 * InvalidError with the field causes, 403 ForbiddenError, anything else
 * KubeApiError. `what` names the object (`Service shop/web`).
 */
export function errorFromResponse(
  what: string,
  httpStatus: number,
  body: unknown,
  context: {
    resourceVersion?: string;
    currentResourceVersion?: string;
    /** `links.multicluster.strait.io`: turns a 404 for the whole type into KindNotServedError. */
    resource?: string;
  } = {},
): StraitError {
  const status = asStatus(body);
  switch (httpStatus) {
    case 404:
      if (context.resource && isUnservedResource(body)) return new KindNotServedError(context.resource);
      return new NotFoundError(what);
    case 409:
      if (status?.reason === 'AlreadyExists') return new AlreadyExistsError(what);
      return new ConflictError(what, context.currentResourceVersion, conflictDetail(status));
    case 410:
      return new WatchExpiredError(context.resourceVersion ?? '(unknown)');
    case 422: {
      const fields = causesOf(status);
      return new InvalidError(
        what,
        fields.length > 0 ? fields : [{ field: '', reason: status?.message ?? 'invalid' }],
      );
    }
    case 403:
      return new ForbiddenError(what, status?.message ?? 'forbidden');
    default:
      return new KubeApiError(what, httpStatus, status);
  }
}

function conflictDetail(status: ApiStatus | undefined): string | undefined {
  const causes = status?.details?.causes ?? [];
  if (causes.length > 0) return causes.map((cause) => cause.message ?? cause.field).join('; ');
  return status?.message;
}

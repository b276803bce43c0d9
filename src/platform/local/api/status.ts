import { StraitError } from '../../../core/errors.ts';
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  WatchExpiredError,
} from '../../../core/store.ts';

/** A Kubernetes `Status` body, as the API returns on failure. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { resourceVersion?: string };
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  code: number;
  details?: { causes?: { field: string; message: string; reason?: string }[]; straitCode?: string };
}

/** The caller presented no credential, or one that is not valid. */
export class UnauthorizedError extends StraitError {
  constructor(reason: string) {
    super('E_UNAUTHORIZED', `unauthorized: ${reason}`, {
      hint: 'use a current token of a ServiceAccount of that cluster, or the cluster admin credential',
    });
    this.name = 'UnauthorizedError';
  }
}

/** Maps an error to its HTTP status and Kubernetes-style body. */
export function statusOf(error: unknown): StatusBody {
  const body = (code: number, reason: string, message: string): StatusBody => ({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
  if (error instanceof NotFoundError) return body(404, 'NotFound', error.message);
  if (error instanceof AlreadyExistsError) return body(409, 'AlreadyExists', error.message);
  if (error instanceof ConflictError) {
    const status = body(409, 'Conflict', error.message);
    if (error.currentResourceVersion) status.metadata.resourceVersion = error.currentResourceVersion;
    return status;
  }
  if (error instanceof InvalidError) {
    const status = body(422, 'Invalid', error.message);
    status.details = {
      causes: error.fields.map((f) => ({ field: f.field, message: f.reason, reason: 'FieldValueInvalid' })),
    };
    return status;
  }
  if (error instanceof WatchExpiredError) return body(410, 'Expired', error.message);
  if (error instanceof ForbiddenError) return body(403, 'Forbidden', error.message);
  if (error instanceof UnauthorizedError) return body(401, 'Unauthorized', error.message);
  if (error instanceof StraitError && error.code === 'E_API_MEDIA_TYPE') {
    return { ...body(415, 'UnsupportedMediaType', error.message), details: { straitCode: error.code } };
  }
  if (error instanceof StraitError) {
    const status = body(error.code === 'E_API_PATH' ? 404 : 400, 'BadRequest', error.message);
    status.details = { straitCode: error.code };
    return status;
  }
  return body(500, 'InternalError', error instanceof Error ? error.message : String(error));
}

/** Turns a failure response back into the error the store interface promises. */
export function errorOf(status: number, body: Partial<StatusBody> | undefined, what: string): Error {
  const message = body?.message ?? `${what}: HTTP ${status}`;
  switch (body?.reason) {
    case 'NotFound':
      return Object.assign(new NotFoundError(what), { message });
    case 'AlreadyExists':
      return Object.assign(new AlreadyExistsError(what), { message });
    case 'Conflict':
      return Object.assign(new ConflictError(what, body.metadata?.resourceVersion), { message });
    case 'Invalid':
      return Object.assign(
        new InvalidError(
          what,
          (body.details?.causes ?? []).map((c) => ({ field: c.field, reason: c.message })),
        ),
        { message },
      );
    case 'Expired':
    case 'Gone':
      return Object.assign(new WatchExpiredError(''), { message });
    case 'Forbidden':
      return new ForbiddenError(what, message);
    case 'Unauthorized':
      return Object.assign(new UnauthorizedError(message), { message });
  }
  if (status === 404) return new NotFoundError(what);
  if (status === 401) return new UnauthorizedError(message);
  if (status === 403) return new ForbiddenError(what, message);
  if (status === 410) return new WatchExpiredError('');
  return new StraitError(body?.details?.straitCode ?? 'E_API', message);
}

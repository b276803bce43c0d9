import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  WatchExpiredError,
} from '../../core/store.ts';
import { errorFromResponse, KindNotServedError, KubeApiError } from './errors.ts';

const status = (code: number, reason: string, message: string, causes?: unknown[]) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  code,
  reason,
  message,
  ...(causes ? { details: { causes } } : {}),
});

test('409 AlreadyExists and Conflict map to their own classes', () => {
  assert.ok(
    errorFromResponse(
      'Service a/b',
      409,
      status(409, 'AlreadyExists', 'services "b" already exists'),
    ) instanceof AlreadyExistsError,
  );
  const conflict = errorFromResponse(
    'ConfigMap a/b',
    409,
    status(409, 'Conflict', 'Apply failed with 1 conflict', [
      { reason: 'FieldManagerConflict', message: 'conflict with "alpha": .data.color', field: '.data.color' },
    ]),
    { currentResourceVersion: '42' },
  );
  assert.ok(conflict instanceof ConflictError);
  assert.equal(conflict.currentResourceVersion, '42');
  assert.match(conflict.message, /conflict with "alpha": \.data\.color/);
  assert.match(conflict.message, /current resourceVersion 42/);
});

test('422 keeps every field cause', () => {
  const error = errorFromResponse(
    'Service a/web',
    422,
    status(422, 'Invalid', 'Service "web" is invalid', [
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: 70000: must be between 1 and 65535',
        field: 'spec.ports[0].port',
      },
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' },
    ]),
  );
  assert.ok(error instanceof InvalidError);
  assert.deepEqual(
    error.fields.map((f) => f.field),
    ['spec.ports[0].port', 'spec.selector'],
  );
  assert.match(error.message, /spec\.ports\[0\]\.port: Invalid value: 70000/);
});

test('404, 403 and 410 map to NotFound, Forbidden and WatchExpired', () => {
  assert.ok(
    errorFromResponse('Link a/b', 404, status(404, 'NotFound', 'not found')) instanceof NotFoundError,
  );
  const forbidden = errorFromResponse(
    'Secret a/*',
    403,
    status(403, 'Forbidden', 'User "x" cannot list secrets'),
  );
  assert.ok(forbidden instanceof ForbiddenError);
  assert.match(forbidden.message, /User "x" cannot list secrets/);
  const expired = errorFromResponse('ConfigMap', 410, status(410, 'Expired', 'too old resource version'), {
    resourceVersion: '7',
  });
  assert.ok(expired instanceof WatchExpiredError);
  assert.match(expired.message, /resourceVersion 7/);
});

test('other statuses, and bodies that are not a Status, become KubeApiError with a hint', () => {
  const unauthorized = errorFromResponse('Service a/b', 401, status(401, 'Unauthorized', 'Unauthorized'));
  assert.ok(unauthorized instanceof KubeApiError);
  assert.equal(unauthorized.code, 'E_KUBE_UNAUTHORIZED');
  assert.ok(unauthorized.hint);
  const busy = errorFromResponse('Service a/b', 503, '<html>proxy error</html>');
  assert.ok(busy instanceof KubeApiError);
  assert.equal(busy.code, 'E_KUBE_API');
  assert.equal(busy.status, 503);
  assert.match(busy.message, /HTTP 503/);
});

test('a 404 for a whole resource type is KindNotServedError; for one object (or its namespace) NotFoundError', () => {
  const context = { resource: 'links.multicluster.strait.io' };
  const unknownGroup = errorFromResponse('Link', 404, '404 page not found', context);
  assert.ok(unknownGroup instanceof KindNotServedError);
  assert.equal(unknownGroup.code, 'E_KIND_NOT_SERVED');
  assert.match(unknownGroup.message, /does not serve links\.multicluster\.strait\.io/);
  const unknownResource = status(404, 'NotFound', 'the server could not find the requested resource');
  assert.ok(
    errorFromResponse('Link', 404, { ...unknownResource, details: {} }, context) instanceof
      KindNotServedError,
  );
  const missingObject = {
    ...status(404, 'NotFound', 'links "x" not found'),
    details: { name: 'x', kind: 'links' },
  };
  assert.ok(errorFromResponse('Link a/x', 404, missingObject, context) instanceof NotFoundError);
  const missingNamespace = {
    ...status(404, 'NotFound', 'namespaces "a" not found'),
    details: { name: 'a', kind: 'namespaces' },
  };
  assert.ok(errorFromResponse('Link a/x', 404, missingNamespace, context) instanceof NotFoundError);
});

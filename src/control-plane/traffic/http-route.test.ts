import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HTTPRoute } from '../../core/api/traffic.ts';
import {
  checkTrafficAnnotations,
  parseGrpcStatuses,
  parseRetryBudget,
  parseStatusRanges,
  TrafficAnnotationError,
} from './annotations.ts';
import { routesOf, serviceDefaultRoute } from './http-route.ts';

test('routes carry path and method matches, rule timeouts and annotated retries', () => {
  const route: HTTPRoute = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name: 'api',
      namespace: 'shop',
      annotations: { 'timeout.strait.io/request': '2s', 'retry.strait.io/http': 'gateway-error' },
    },
    spec: {
      parentRefs: [{ kind: 'Service', name: 'web' }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/api/' }, method: 'get' }],
          timeouts: { request: '250ms' },
        },
        { matches: [{ path: { type: 'Exact', value: '/health.z' } }] },
      ],
    },
  };
  const [prefix, exact] = routesOf(route);
  assert.equal(prefix?.pathRegex, '^/api(/.*)?$');
  assert.equal(prefix?.method, 'GET');
  assert.equal(prefix?.timeoutMs, 250);
  assert.equal(prefix?.retryable, true);
  assert.deepEqual(prefix?.failureClasses, [[502, 504]]);
  assert.equal(exact?.pathRegex, '^/health\\.z$');
  assert.equal(exact?.timeoutMs, 2000);
  assert.ok(new RegExp(prefix?.pathRegex ?? '').test('/api/users'));
  assert.ok(!new RegExp(prefix?.pathRegex ?? '').test('/apiary'));
});

test('service annotations give a default route and a retry budget; bad values are named', () => {
  assert.equal(serviceDefaultRoute({}), undefined);
  assert.deepEqual(serviceDefaultRoute({ 'retry.strait.io/http': '5xx,429' })?.failureClasses, [
    [500, 599],
    [429, 429],
  ]);
  assert.deepEqual(parseRetryBudget(undefined), { ratio: 0.2, minPerSecond: 10, ttlMs: 10_000 });
  assert.deepEqual(
    parseRetryBudget({ 'retry.strait.io/budget-ratio': '0.5', 'retry.strait.io/budget-ttl': '30s' }),
    {
      ratio: 0.5,
      minPerSecond: 10,
      ttlMs: 30_000,
    },
  );
  assert.throws(
    () => parseStatusRanges('5xx,oops'),
    (e: unknown) =>
      e instanceof TrafficAnnotationError && e.code === 'E_TRAFFIC_ANNOTATION' && /oops/.test(e.message),
  );
  assert.throws(() => parseRetryBudget({ 'retry.strait.io/budget-ratio': '2' }), /budget-ratio/);
});

test('gRPC retry statuses: names or codes, either retry annotation makes routes retryable', () => {
  assert.deepEqual(parseGrpcStatuses('unavailable, RESOURCE_EXHAUSTED,deadline-exceeded,14'), [4, 8, 14]);
  const grpcOnly = serviceDefaultRoute({ 'retry.strait.io/grpc': 'resource-exhausted' });
  assert.equal(grpcOnly?.retryable, true);
  assert.deepEqual(grpcOnly?.grpcRetryStatuses, [8]);
  assert.deepEqual(grpcOnly?.failureClasses, [], 'HTTP statuses keep the 5xx default');
  assert.deepEqual(serviceDefaultRoute({ 'retry.strait.io/http': '5xx' })?.grpcRetryStatuses, []);
  for (const bad of ['ok', '0', '17', 'unavailabel', '']) {
    assert.throws(
      () => parseGrpcStatuses(bad),
      (e: unknown) => e instanceof TrafficAnnotationError && /retry\.strait\.io\/grpc/.test(e.message),
      bad,
    );
  }
  assert.equal(
    serviceDefaultRoute({ 'retry.strait.io/grpc': 'sometimes' }),
    undefined,
    'a bad value counts as absent',
  );
  assert.deepEqual(checkTrafficAnnotations({ 'retry.strait.io/grpc': 'ok,unavailable' }), [
    'annotation retry.strait.io/grpc: "ok,unavailable" has "ok", not a gRPC status other than OK (a name such as unavailable, or a code 1-16)',
  ]);
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { DestinationProfileSchema } from '../../gen/strait/destination/v1/destination_pb.js';
import {
  isEndpointFailure,
  isFailureResponse,
  isFailureStatus,
  isRetryableResponse,
  matchRoute,
  pickOverride,
  profileFromProto,
} from './profile.ts';

describe('service profiles', () => {
  const message = create(DestinationProfileSchema, {
    routes: [
      { name: 'bad', condition: { pathRegex: '(' } },
      {
        name: 'api-get',
        condition: { pathRegex: '^/api(/.*)?$', method: 'get' },
        isRetryable: true,
        timeout: { seconds: 1n, nanos: 500_000_000 },
        responseClasses: [{ statusMin: 500, statusMax: 502, isFailure: true }],
      },
      {
        name: 'quota',
        condition: { pathRegex: '^/quota$' },
        isRetryable: true,
        grpcRetryStatuses: [8, 14],
      },
      { name: 'default', condition: {} },
    ],
    retryBudget: { retryRatio: 0.5, minRetriesPerSecond: 3, ttl: { seconds: 20n } },
    dstOverrides: [
      { authority: 'v1.shop.svc.cluster.local:80', weight: 1, backend: 'v1' },
      { authority: 'v2.shop.svc.cluster.local:80', weight: 3, backend: 'v2' },
    ],
  });

  it('converts routes, budgets and overrides, dropping a route whose pattern does not compile', () => {
    const dropped: string[] = [];
    const profile = profileFromProto(message, (route) => dropped.push(route));
    assert.deepEqual(dropped, ['bad']);
    assert.deepEqual(
      profile.routes.map((r) => [r.name, r.method, r.timeoutMs, r.isRetryable]),
      [
        ['api-get', 'GET', 1500, true],
        ['quota', '', 0, true],
        ['default', '', 0, false],
      ],
    );
    assert.deepEqual(profile.retryBudget, { retryRatio: 0.5, minRetriesPerSecond: 3, ttlMs: 20_000 });
    assert.equal(profile.dstOverrides.length, 2);
  });

  it('matches the first route by method and path, ignoring the query', () => {
    const profile = profileFromProto(message);
    assert.equal(matchRoute(profile, 'GET', '/api/orders?page=2')?.name, 'api-get');
    assert.equal(matchRoute(profile, 'POST', '/api/orders')?.name, 'default');
    assert.equal(matchRoute(profile, 'GET', '/apiary')?.name, 'default');
  });

  it('classifies by response class, else 5xx', () => {
    const route = profileFromProto(message).routes[0];
    assert.equal(isFailureStatus(route, 502), true);
    assert.equal(isFailureStatus(route, 503), true, 'outside the classes: the 5xx default');
    assert.equal(isFailureStatus(undefined, 404), false);
  });

  it('picks backends in proportion to their weights, never a weight-0 one', () => {
    const overrides = profileFromProto(message).dstOverrides;
    assert.equal(pickOverride(overrides, () => 0.2)?.backend, 'v1');
    assert.equal(pickOverride(overrides, () => 0.3)?.backend, 'v2');
    assert.equal(pickOverride(overrides, () => 0.99)?.backend, 'v2');
    const zero = [{ authority: 'a:1', weight: 0, backend: 'a' }, ...overrides];
    assert.notEqual(pickOverride(zero, () => 0)?.backend, 'a');
    assert.equal(pickOverride([{ authority: 'a:1', weight: 0, backend: 'a' }]), undefined);
  });

  it('classifies gRPC by grpc-status and retries only UNAVAILABLE', () => {
    const route = profileFromProto(message).routes[0];
    assert.equal(isFailureResponse(route, 200, '0'), false);
    assert.equal(isFailureResponse(route, 200, '5'), true, 'NOT_FOUND is a failure for metrics');
    assert.equal(isEndpointFailure(200, '5'), false, 'but says nothing against the endpoint');
    assert.equal(isEndpointFailure(200, '14'), true);
    assert.equal(isRetryableResponse(route, 200, '14'), true);
    assert.equal(isRetryableResponse(route, 200, '13'), false);
    assert.equal(isRetryableResponse(route, 502, undefined), true, 'plain HTTP/2 follows the route classes');
    assert.equal(isRetryableResponse(route, 404, undefined), false);
    assert.equal(isRetryableResponse(undefined, 503, undefined), true, 'no route: 502-504');
    assert.equal(isRetryableResponse(undefined, 200, '14'), true, 'no route: UNAVAILABLE');
    assert.equal(isRetryableResponse(undefined, 200, '8'), false);
  });

  it('retries the gRPC statuses a route names, and only those', () => {
    const quota = profileFromProto(message).routes.find((r) => r.name === 'quota');
    assert.equal(isRetryableResponse(quota, 200, '8'), true, 'RESOURCE_EXHAUSTED named');
    assert.equal(isRetryableResponse(quota, 200, '14'), true);
    assert.equal(isRetryableResponse(quota, 200, '13'), false, 'INTERNAL not named');
    assert.equal(isRetryableResponse(quota, 200, '0'), false);
  });
});

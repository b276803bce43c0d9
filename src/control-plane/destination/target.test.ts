import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidTargetError, parseTarget, targetKey } from './target.ts';

test('parses fully qualified, short and IP targets', () => {
  assert.deepEqual(parseTarget('web.shop.svc.cluster.local:8080', 'cluster.local'), {
    kind: 'service',
    namespace: 'shop',
    name: 'web',
    port: 8080,
  });
  assert.deepEqual(parseTarget('web.shop:80', 'cluster.local'), {
    kind: 'service',
    namespace: 'shop',
    name: 'web',
    port: 80,
  });
  assert.deepEqual(parseTarget('10.1.2.3:9000', 'cluster.local'), { kind: 'ip', ip: '10.1.2.3', port: 9000 });
  assert.deepEqual(parseTarget('[::1]:9000', 'cluster.local'), { kind: 'ip', ip: '::1', port: 9000 });
  assert.equal(targetKey(parseTarget('web.shop.svc.east.local:1', 'east.local')), 'svc:shop/web:1');
  assert.deepEqual(parseTarget('web-0.web.shop.svc.cluster.local:80', 'cluster.local'), {
    kind: 'service',
    namespace: 'shop',
    name: 'web',
    port: 80,
    hostname: 'web-0',
  });
  assert.equal(targetKey(parseTarget('web-0.web.shop.svc:80', 'cluster.local')), 'svc:web-0.shop/web:80');
  assert.equal(parseTarget('svc.shop.svc.cluster.local:80', 'cluster.local').kind, 'service');
});

test('rejects names outside the cluster domain and bad ports with E_DESTINATION_TARGET', () => {
  for (const path of [
    'web.shop.svc.other.local:80',
    'example.com.x.y:80',
    'web.shop',
    'web.shop:0',
    'web.shop:70000',
    'Web_.shop:80',
  ]) {
    assert.throws(
      () => parseTarget(path, 'cluster.local'),
      (error: unknown) =>
        error instanceof InvalidTargetError &&
        error.code === 'E_DESTINATION_TARGET' &&
        error.message.includes(path),
      path,
    );
  }
});

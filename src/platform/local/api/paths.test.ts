import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kinds } from '../../../core/kinds.ts';
import { parseApiPath, resourcePath } from './paths.ts';

describe('parseApiPath()', () => {
  it('reads core, grouped, namespaced and cluster-scoped paths', () => {
    assert.deepEqual(parseApiPath('/api/v1/namespaces/shop/services/web'), {
      kind: Kinds.Service,
      namespace: 'shop',
      name: 'web',
    });
    assert.deepEqual(parseApiPath('/apis/multicluster.strait.io/v1alpha1/links'), { kind: Kinds.Link });
    assert.deepEqual(parseApiPath('/api/v1/namespaces/shop'), { kind: Kinds.Namespace, name: 'shop' });
    assert.deepEqual(parseApiPath('/api/v1/namespaces/shop/status'), {
      kind: Kinds.Namespace,
      name: 'shop',
      subresource: 'status',
    });
    assert.deepEqual(parseApiPath('/api/v1/namespaces/shop/serviceaccounts/link/token'), {
      kind: Kinds.ServiceAccount,
      namespace: 'shop',
      name: 'link',
      subresource: 'token',
    });
    assert.deepEqual(parseApiPath('/apis/rbac.authorization.k8s.io/v1/clusterroles/reader'), {
      kind: Kinds.ClusterRole,
      name: 'reader',
    });
  });

  it('refuses what it does not serve, saying why', () => {
    assert.throws(() => parseApiPath('/healthz/x'), { code: 'E_API_PATH', message: /not a resource path/ });
    assert.throws(() => parseApiPath('/api/v1/gizmos'), { message: /does not serve "gizmos" in v1/ });
    assert.throws(() => parseApiPath('/api/v1/namespaces/a/services/b/status/extra'), {
      message: /too many path segments/,
    });
  });

  it('is the inverse of resourcePath()', () => {
    for (const [kind, where] of [
      [Kinds.Workload, { namespace: 'shop', name: 'web', subresource: 'status' }],
      [Kinds.ClusterRoleBinding, { name: 'link-reader' }],
      [Kinds.Endpoints, { namespace: 'shop' }],
    ] as const) {
      assert.deepEqual(parseApiPath(resourcePath(kind, where)), { kind, ...where });
    }
  });
});

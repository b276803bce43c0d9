import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../../../core/api/core.ts';
import type { ClusterRole, Role, RoleBinding } from '../../../core/api/rbac.ts';
import { Kinds } from '../../../core/kinds.ts';
import type { Resource } from '../../../core/resource.ts';
import { openLocalStore } from '../store/index.ts';
import { typeMeta } from '../type-meta.ts';
import { type ApiStore, createApiStore } from './client.ts';
import { createRefreshingApiStore } from './refreshing-token.ts';
import { type ApiServer, startApiServer } from './server.ts';
import { generateTokenKeyPem, ServiceAccountTokens } from './service-account-token.ts';
import { createApiCertificates } from './serving-certificate.ts';
import { requestServiceAccountToken } from './token-request.ts';

const service = (namespace: string, name: string, labels: Record<string, string> = {}): Service => ({
  ...typeMeta(Kinds.Service),
  metadata: { name, namespace, labels },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 8080 }] },
});

describe('store API', () => {
  let server: ApiServer;
  let admin: ApiStore;
  let caPem: string;
  let url: string;
  const opened: ApiStore[] = [];
  const storeFor = (token: string) => {
    const store = createApiStore({ server: url, ca: caPem, token });
    opened.push(store);
    return store;
  };

  before(async () => {
    const store = await openLocalStore({});
    const certificates = await createApiCertificates({
      clusterName: 'test',
      ipAddresses: ['127.0.0.1'],
      dnsNames: ['localhost'],
    });
    caPem = certificates.caCertPem;
    const adminToken = randomBytes(24).toString('base64url');
    server = await startApiServer({
      store,
      host: '127.0.0.1',
      port: 0,
      tls: { cert: certificates.certPem, key: certificates.keyPem },
      adminToken,
      tokens: new ServiceAccountTokens(generateTokenKeyPem(), 'strait://test'),
    });
    url = `https://127.0.0.1:${server.port}`;
    admin = storeFor(adminToken);
    for (const name of ['shop', 'other']) {
      await admin.create({ ...typeMeta(Kinds.Namespace), metadata: { name } });
    }
  });

  after(async () => {
    for (const store of opened) store.close();
    await server.close();
  });

  it('creates, reads, lists by label, updates, patches and deletes as the admin', async () => {
    const created = await admin.create(service('shop', 'web', { tier: 'front' }));
    assert.ok(created.metadata.resourceVersion);
    await admin.create(service('shop', 'db', { tier: 'back' }));
    const got = await admin.get<Service>({ ...Kinds.Service, namespace: 'shop', name: 'web' });
    assert.equal(got?.spec?.ports[0]?.port, 8080);
    const front = await admin.list(Kinds.Service, { namespace: 'shop', labelSelector: 'tier=front' });
    assert.deepEqual(
      front.items.map((s) => s.metadata.name),
      ['web'],
    );
    const updated = await admin.update({
      ...created,
      metadata: { ...created.metadata, labels: { tier: 'edge' } },
    });
    assert.equal(updated.metadata.labels?.tier, 'edge');
    const patched = await admin.patch(
      { ...Kinds.Service, namespace: 'shop', name: 'web' },
      {
        metadata: { annotations: { note: 'patched' } },
      },
    );
    assert.equal(patched.metadata.annotations?.note, 'patched');
    assert.equal(await admin.delete({ ...Kinds.Service, namespace: 'shop', name: 'db' }), true);
    assert.equal(await admin.delete({ ...Kinds.Service, namespace: 'shop', name: 'db' }), false);
    assert.equal(await admin.get({ ...Kinds.Service, namespace: 'shop', name: 'db' }), undefined);
  });

  it('returns the store errors: conflict with the current version, already exists', async () => {
    const first = await admin.create(service('shop', 'conflicted'));
    await admin.update({ ...first, metadata: { ...first.metadata, labels: { a: 'b' } } });
    await assert.rejects(
      admin.update({ ...first, metadata: { ...first.metadata, labels: { a: 'c' } } }),
      (error: { code: string; currentResourceVersion?: string }) =>
        error.code === 'E_CONFLICT' && typeof error.currentResourceVersion === 'string',
    );
    await assert.rejects(admin.create(service('shop', 'conflicted')), { code: 'E_ALREADY_EXISTS' });
  });

  it('applies with a field manager and writes the status subresource', async () => {
    const applied = await admin.apply(service('shop', 'applied'), { fieldManager: 'test' });
    assert.equal(applied.metadata.name, 'applied');
    const withStatus = await admin.updateStatus({
      ...applied,
      status: { loadBalancer: { ingress: [{ ip: '127.9.0.1' }] } },
    });
    assert.equal((withStatus as Service).status?.loadBalancer?.ingress?.[0]?.ip, '127.9.0.1');
  });

  it('streams watch events from a resourceVersion', async () => {
    const list = await admin.list(Kinds.Service, { namespace: 'other' });
    const controller = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const event of admin.watch(Kinds.Service, {
        namespace: 'other',
        resourceVersion: list.resourceVersion,
        signal: controller.signal,
      })) {
        seen.push(`${event.type} ${event.object.metadata.name}`);
        if (seen.length === 2) controller.abort();
      }
    })();
    await admin.create(service('other', 'watched'));
    await admin.delete({ ...Kinds.Service, namespace: 'other', name: 'watched' });
    await watching;
    assert.deepEqual(seen, ['ADDED watched', 'DELETED watched']);
  });

  it('refuses requests without a token or with a forged one (401)', async () => {
    await assert.rejects(storeFor('').list(Kinds.Service), { code: 'E_UNAUTHORIZED' });
    await assert.rejects(storeFor('not-a-token').list(Kinds.Service), { code: 'E_UNAUTHORIZED' });
    const other = new ServiceAccountTokens(generateTokenKeyPem(), 'strait://test');
    const forged = other.issue({ namespace: 'shop', name: 'reader', uid: 'x' }).token;
    await assert.rejects(storeFor(forged).list(Kinds.Service), /signature/);
  });

  it('authorizes ServiceAccount tokens by RBAC and revokes them with their ServiceAccount', async () => {
    await admin.create({
      ...typeMeta(Kinds.ServiceAccount),
      metadata: { name: 'reader', namespace: 'shop' },
    });
    const { token } = await requestServiceAccountToken(admin, { namespace: 'shop', name: 'reader' });
    const reader = storeFor(token);
    await assert.rejects(reader.list(Kinds.Service, { namespace: 'shop' }), { code: 'E_FORBIDDEN' });

    await admin.create<Role>({
      ...typeMeta(Kinds.Role),
      metadata: { name: 'read-services', namespace: 'shop' },
      rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['services'] }],
    });
    await admin.create<RoleBinding>({
      ...typeMeta(Kinds.RoleBinding),
      metadata: { name: 'reader', namespace: 'shop' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-services' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'shop' }],
    });
    assert.ok((await reader.list(Kinds.Service, { namespace: 'shop' })).items.length > 0);
    await assert.rejects(reader.list(Kinds.Service, { namespace: 'other' }), { code: 'E_FORBIDDEN' });
    await assert.rejects(reader.list(Kinds.Service), { code: 'E_FORBIDDEN' });
    await assert.rejects(reader.list(Kinds.Secret, { namespace: 'shop' }), { code: 'E_FORBIDDEN' });
    await assert.rejects(reader.create(service('shop', 'intruder')), { code: 'E_FORBIDDEN' });

    const refreshed = await requestServiceAccountToken(reader, { namespace: 'shop', name: 'reader' }, 600);
    assert.ok(Date.parse(refreshed.expirationTimestamp) > Date.now());
    assert.ok((await storeFor(refreshed.token).list(Kinds.Service, { namespace: 'shop' })).items.length > 0);

    await admin.delete({ ...Kinds.ServiceAccount, namespace: 'shop', name: 'reader' });
    await assert.rejects(reader.list(Kinds.Service, { namespace: 'shop' }), { code: 'E_UNAUTHORIZED' });
    await assert.rejects(storeFor(refreshed.token).list(Kinds.Service, { namespace: 'shop' }), {
      code: 'E_UNAUTHORIZED',
    });
  });

  it('refreshes a ServiceAccount token before it expires, until the ServiceAccount is deleted', async () => {
    await admin.create({
      ...typeMeta(Kinds.ServiceAccount),
      metadata: { name: 'mirror', namespace: 'shop' },
    });
    await admin.create<RoleBinding>({
      ...typeMeta(Kinds.RoleBinding),
      metadata: { name: 'mirror', namespace: 'shop' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-services' },
      subjects: [{ kind: 'ServiceAccount', name: 'mirror', namespace: 'shop' }],
    });
    const first = await requestServiceAccountToken(admin, { namespace: 'shop', name: 'mirror' }, 3600);
    const refreshed: string[] = [];
    const errors: unknown[] = [];
    const lateClock = () => Date.now() + 0.8 * 3600 * 1000;
    const store = createRefreshingApiStore(
      { clusterName: 'test', server: url, caPem, token: first.token },
      { namespace: 'shop', name: 'mirror' },
      { onRefresh: (token) => refreshed.push(token), onError: (error) => errors.push(error), now: lateClock },
    );
    opened.push(store);
    assert.ok((await store.list(Kinds.Service, { namespace: 'shop' })).items.length > 0);
    assert.equal(refreshed.length, 1);
    assert.notEqual(refreshed[0], first.token);

    await admin.delete({ ...Kinds.ServiceAccount, namespace: 'shop', name: 'mirror' });
    await assert.rejects(store.list(Kinds.Service, { namespace: 'shop' }), { code: 'E_UNAUTHORIZED' });
    assert.equal((errors[0] as { code?: string }).code, 'E_UNAUTHORIZED');
  });

  it('limits a ClusterRole to named objects with resourceNames', async () => {
    await admin.create({ ...typeMeta(Kinds.ServiceAccount), metadata: { name: 'link', namespace: 'other' } });
    await admin.create(service('other', 'gateway'));
    await admin.create(service('other', 'private'));
    await admin.create<ClusterRole>({
      ...typeMeta(Kinds.ClusterRole),
      metadata: { name: 'link-reader' },
      rules: [
        { verbs: ['list', 'watch'], apiGroups: [''], resources: ['services', 'endpoints'] },
        { verbs: ['get'], apiGroups: [''], resources: ['services'], resourceNames: ['gateway'] },
      ],
    });
    await admin.create<RoleBinding>({
      ...typeMeta(Kinds.ClusterRoleBinding),
      metadata: { name: 'link-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'link-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'link', namespace: 'other' }],
    });
    const link = storeFor(
      (await requestServiceAccountToken(admin, { namespace: 'other', name: 'link' })).token,
    );
    assert.ok((await link.list(Kinds.Service)).items.length >= 2);
    assert.ok(await link.get({ ...Kinds.Service, namespace: 'other', name: 'gateway' }));
    await assert.rejects(link.get({ ...Kinds.Service, namespace: 'other', name: 'private' }), {
      code: 'E_FORBIDDEN',
    });
    await assert.rejects(link.delete({ ...Kinds.Service, namespace: 'other', name: 'gateway' }), {
      code: 'E_FORBIDDEN',
    });
  });

  it('answers malformed requests with a Status and keeps serving', async () => {
    await assert.rejects(admin.request('POST', '/api/v1/namespaces/shop/services', '{not json'), {
      code: 'E_API_REQUEST',
    });
    await assert.rejects(admin.request('GET', '/apis/nothing.example/v1/things'), { code: 'E_NOT_FOUND' });
    const wrongKind: Resource = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } };
    await assert.rejects(admin.request('POST', '/api/v1/namespaces/shop/services', wrongKind), {
      code: 'E_API_REQUEST',
    });
    assert.ok(await admin.get({ ...Kinds.Namespace, name: 'shop' }));
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { openLocalStore } from '../store/index.ts';
import { AGGREGATED_DISCOVERY_TYPE } from './discovery.ts';
import { type ApiServer, startApiServer } from './server.ts';
import { generateTokenKeyPem, ServiceAccountTokens } from './service-account-token.ts';
import { createApiCertificates } from './serving-certificate.ts';

interface Answer {
  status: number;
  type: string;
  body: Record<string, unknown>;
}

describe('store API for kubectl: discovery, OpenAPI, media types', () => {
  let server: ApiServer;
  let ca: string;
  let token: string;
  /** One HTTPS request to the server; `bearer` '' sends no credential. */
  const request = (
    path: string,
    options: { method?: string; headers?: Record<string, string>; bearer?: string; body?: Buffer } = {},
  ) =>
    new Promise<Answer>((resolve, reject) => {
      const bearer = options.bearer ?? token;
      const headers = { ...options.headers, ...(bearer !== '' ? { authorization: `Bearer ${bearer}` } : {}) };
      const sent = https.request(
        `https://127.0.0.1:${server.port}${path}`,
        { method: options.method ?? 'GET', ca, headers },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => {
            text += chunk.toString('utf8');
          });
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              type: String(response.headers['content-type']),
              body: JSON.parse(text) as Record<string, unknown>,
            }),
          );
        },
      );
      sent.on('error', reject);
      sent.end(options.body);
    });
  const get = (path: string, headers: Record<string, string> = {}, bearer = token) =>
    request(path, { headers, bearer });

  before(async () => {
    const certificates = await createApiCertificates({
      clusterName: 'test',
      ipAddresses: ['127.0.0.1'],
      dnsNames: [],
    });
    ca = certificates.caCertPem;
    token = randomBytes(24).toString('base64url');
    server = await startApiServer({
      store: await openLocalStore({}),
      host: '127.0.0.1',
      port: 0,
      tls: { cert: certificates.certPem, key: certificates.keyPem },
      adminToken: token,
      tokens: new ServiceAccountTokens(generateTokenKeyPem(), 'strait://test'),
    });
  });

  after(() => server.close());

  it('lists the core version and the groups with their preferred versions', async () => {
    assert.deepEqual((await get('/api')).body, { kind: 'APIVersions', versions: ['v1'] });
    const groups = (await get('/apis')).body.groups as {
      name: string;
      versions: { groupVersion: string }[];
      preferredVersion: { version: string };
    }[];
    const policy = groups.find((g) => g.name === 'policy.strait.io');
    assert.deepEqual(
      policy?.versions.map((v) => v.groupVersion),
      ['policy.strait.io/v1beta1', 'policy.strait.io/v1alpha1'],
    );
    assert.equal(policy?.preferredVersion.version, 'v1beta1');
    assert.ok(groups.some((g) => g.name === 'multicluster.strait.io'));
    assert.ok(!groups.some((g) => g.name === ''), 'the core group is under /api');
    const group = await get('/apis/multicluster.strait.io');
    assert.equal(group.body.kind, 'APIGroup');
  });

  it('describes each group version’s resources, with subresources and short names', async () => {
    const core = (await get('/api/v1')).body;
    assert.equal(core.groupVersion, 'v1');
    const resources = core.resources as {
      name: string;
      kind: string;
      namespaced: boolean;
      verbs: string[];
      shortNames?: string[];
    }[];
    const services = resources.find((r) => r.name === 'services');
    assert.deepEqual(services?.shortNames, ['svc']);
    assert.equal(services?.namespaced, true);
    assert.ok(services?.verbs.includes('watch'));
    assert.ok(resources.some((r) => r.name === 'services/status'));
    const token = resources.find((r) => r.name === 'serviceaccounts/token');
    assert.equal(token?.kind, 'TokenRequest');
    assert.deepEqual(token?.verbs, ['create']);
    const links = (await get('/apis/multicluster.strait.io/v1alpha1')).body.resources as { name: string }[];
    assert.deepEqual(
      links.map((r) => r.name),
      ['links', 'links/status'],
    );
    assert.equal((await get('/apis/multicluster.strait.io/v9')).status, 404);
  });

  it('answers aggregated discovery when asked for it', async () => {
    const accept = `${AGGREGATED_DISCOVERY_TYPE},application/json`;
    const answer = await get('/apis', { accept });
    assert.equal(answer.type, AGGREGATED_DISCOVERY_TYPE);
    assert.equal(answer.body.kind, 'APIGroupDiscoveryList');
    const items = answer.body.items as {
      metadata: { name: string };
      versions: {
        version: string;
        resources: { resource: string; scope: string; responseKind: { kind: string } }[];
      }[];
    }[];
    const traffic = items.find((i) => i.metadata.name === 'split.smi-spec.io');
    assert.deepEqual(traffic?.versions[0]?.resources[0], {
      resource: 'trafficsplits',
      responseKind: { group: 'split.smi-spec.io', version: 'v1alpha2', kind: 'TrafficSplit' },
      scope: 'Namespaced',
      singularResource: 'trafficsplit',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['ts'],
      subresources: [
        {
          subresource: 'status',
          responseKind: { group: 'split.smi-spec.io', version: 'v1alpha2', kind: 'TrafficSplit' },
          verbs: ['get', 'update'],
        },
      ],
    });
    const core = await get('/api', { accept });
    assert.deepEqual(
      (core.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name),
      [''],
    );
  });

  it('serves the version without a credential, and discovery only with one', async () => {
    const version = await get('/version', {}, '');
    assert.equal(version.status, 200);
    assert.equal(version.body.major, '1');
    assert.equal((await get('/api/v1', {}, '')).status, 401);
    assert.equal((await get('/apis', {}, 'not-a-token')).status, 401);
  });

  it('publishes OpenAPI v3 with the patch types and field validation kubectl looks for', async () => {
    const index = (await get('/openapi/v3')).body.paths as Record<string, { serverRelativeURL: string }>;
    const url = index['apis/multicluster.strait.io/v1alpha1']?.serverRelativeURL as string;
    assert.match(url, /^\/openapi\/v3\/apis\/multicluster\.strait\.io\/v1alpha1\?hash=/);
    const document = (await get(url)).body as {
      paths: Record<string, { patch?: { parameters: { name: string }[]; requestBody: { content: object } } }>;
      components: { schemas: Record<string, unknown> };
    };
    const patch =
      document.paths['/apis/multicluster.strait.io/v1alpha1/namespaces/{namespace}/links/{name}']?.patch;
    assert.ok(patch?.parameters.some((p) => p.name === 'fieldValidation'));
    assert.ok('application/apply-patch+yaml' in (patch?.requestBody.content ?? {}));
    assert.ok(document.components.schemas['multicluster.strait.io.v1alpha1.Link']);
    assert.equal((await get('/openapi/v3/apis/nothing/v1')).status, 404);
  });

  it('refuses a protobuf body with 415, naming the type', async () => {
    const answer = await request('/api/v1/namespaces', {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
      body: Buffer.from('k8s\u0000'),
    });
    assert.equal(answer.status, 415);
    assert.equal(answer.body.reason, 'UnsupportedMediaType');
    assert.match(String(answer.body.message), /application\/vnd\.kubernetes\.protobuf/);
  });
});

import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { createApiCertificates } from '../../local/api/serving-certificate.ts';
import { defaultMeshSettings } from '../manifests/settings.ts';
import { TrustAnchorsUnavailableError } from './trust-anchors.ts';
import { type InjectorWebhook, startInjectorWebhook } from './webhook.ts';

describe('injector webhook over HTTPS', () => {
  let webhook: InjectorWebhook;
  let ca: string;
  let anchors: string | undefined = '-----BEGIN CERTIFICATE-----\nfirst\n-----END CERTIFICATE-----\n';
  let anchorReads = 0;

  before(async () => {
    const certs = await createApiCertificates({
      clusterName: 'test',
      ipAddresses: ['127.0.0.1'],
      dnsNames: [],
    });
    ca = certs.caCertPem;
    webhook = await startInjectorWebhook({
      host: '127.0.0.1',
      port: 0,
      tls: { certPem: certs.certPem, keyPem: certs.keyPem },
      inject: { settings: defaultMeshSettings(), version: '0.1.0' },
      namespaceAnnotations: async (name): Promise<Record<string, string>> =>
        name === 'meshed' || name === 'rotated' ? { 'strait.io/inject': 'enabled' } : {},
      trustAnchors: async () => {
        anchorReads++;
        if (anchors === undefined)
          throw new TrustAnchorsUnavailableError('ConfigMap strait/x does not exist');
        return anchors;
      },
    });
  });
  after(() => webhook.close());

  function post(body: string, path = '/inject'): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${webhook.url}${path}`,
        { method: 'POST', ca, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode as number, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const reviewOf = (namespace: string, annotations: Record<string, string> = {}) =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u-1',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        namespace,
        operation: 'CREATE',
        object: { metadata: { generateName: 'web-', annotations }, spec: { containers: [{ name: 'web' }] } },
      },
    });

  it('answers a pod in an annotated namespace with a JSON patch adding the proxy', async () => {
    const { status, body } = await post(reviewOf('meshed'));
    assert.equal(status, 200);
    const response = body.response as { uid: string; allowed: boolean; patchType: string; patch: string };
    assert.equal(response.uid, 'u-1');
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString()) as {
      path: string;
      value: unknown;
    }[];
    const containers = patch.find((op) => op.path === '/spec/containers')?.value as { name: string }[];
    assert.deepEqual(
      containers.map((c) => c.name),
      ['strait-proxy', 'web'],
    );
  });

  it('allows a pod elsewhere unchanged, without reading the trust anchors', async () => {
    const reads = anchorReads;
    const { body } = await post(reviewOf('plain'));
    assert.deepEqual(body.response, { uid: 'u-1', allowed: true });
    assert.equal(anchorReads, reads);
  });

  it('gives each new pod the trust anchors current at its creation', async () => {
    const bundleOf = async () => {
      const { body } = await post(reviewOf('rotated'));
      const patch = JSON.parse(Buffer.from((body.response as { patch: string }).patch, 'base64').toString());
      const containers = patch.find((op: { path: string }) => op.path === '/spec/containers').value;
      return containers[0].env.find((e: { name: string }) => e.name === 'STRAIT_PROXY_TRUST_BUNDLE').value;
    };
    assert.match(await bundleOf(), /first/);
    anchors = '-----BEGIN CERTIFICATE-----\nsecond\n-----END CERTIFICATE-----\n';
    assert.match(await bundleOf(), /second/);
  });

  it('refuses a pod to inject when the trust anchors cannot be read, and keeps serving', async () => {
    const kept = anchors;
    anchors = undefined;
    try {
      const { status, body } = await post(reviewOf('meshed'));
      assert.equal(status, 200);
      const response = body.response as { allowed: boolean; status: { message: string } };
      assert.equal(response.allowed, false);
      assert.match(response.status.message, /strait proxy injector: ConfigMap strait\/x does not exist/);
      assert.deepEqual((await post(reviewOf('plain'))).body.response, { uid: 'u-1', allowed: true });
    } finally {
      anchors = kept;
    }
  });

  it('refuses a pod with a malformed annotation, saying why', async () => {
    const { body } = await post(reviewOf('meshed', { 'config.strait.io/opaque-ports': '0' }));
    const response = body.response as { allowed: boolean; status: { message: string } };
    assert.equal(response.allowed, false);
    assert.match(response.status.message, /config.strait.io\/opaque-ports: "0" is not a port/);
  });

  it('answers 400 to a body that is not an AdmissionReview and keeps serving', async () => {
    const bad = await post('{"kind":"Pod"}');
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /E_ADMISSION_REVIEW/);
    assert.equal((await post('not json')).status, 400);
    assert.equal((await post(reviewOf('meshed'))).status, 200);
  });
});
